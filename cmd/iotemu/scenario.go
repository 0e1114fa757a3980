package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/iotemu/iotemu/scenarios"
)

// errScenariosFailed makes `iotemu scenario run` exit 1 when a scenario fails (2 is for usage
// errors and scenarios that cannot be read).
var errScenariosFailed = errors.New("scenarios failed")

const scenarioUsage = `usage: iotemu scenario <command> [flags]

commands:
  run [FILES|DIRS] [--junit FILE] [--function NAME=PATH] [--run REGEXP] [-q]
                  run scenario files (default: the embedded library of troubleshooting cases)
  list [FILES|DIRS]
                  list scenarios with what each shows
  new [-w] NAME   print a commented scenario file to start from (-w: write NAME.yaml)
  schema          print the JSON Schema of scenario files, for editors
`

// scenario runs `iotemu scenario ...`.
func scenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, scenarioUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "run":
		return scenarioRun(ctx, args[1:], stdout, stderr)
	case "list":
		return scenarioList(args[1:], stdout, stderr)
	case "new":
		return scenarioNew(args[1:], stdout, stderr)
	case "schema":
		_, err := stdout.Write(scenarios.SchemaJSON)
		return err
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, scenarioUsage)
		return nil
	}
	fmt.Fprint(stderr, scenarioUsage)
	return fmt.Errorf("unknown scenario command %q", args[0])
}

// functionFlags collects --function NAME=PATH.
type functionFlags map[string]string

func (f functionFlags) String() string { return fmt.Sprint(map[string]string(f)) }

func (f functionFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=PATH, got %q", v)
	}
	f[name] = path
	return nil
}

func scenarioRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scenario run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	junit := fs.String("junit", "", "also write the results as JUnit XML to `FILE`")
	functions := functionFlags{}
	fs.Var(functions, "function", "`NAME=PATH`: replace function NAME in every scenario with the executable PATH (an aws-lambda-go bootstrap), to see which cases it gets right; repeatable")
	parallel := fs.Int("parallel", 0, "run at most `N` scenarios at once (default GOMAXPROCS*2)")
	quiet := fs.Bool("q", false, "print only the scenarios that fail, and the summary")
	only := fs.String("run", "", "run only the scenarios whose name matches the `regexp`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: iotemu scenario run [FILES|DIRS] [flags]")
		fs.PrintDefaults()
	}
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	scs, err := loadScenarios(paths)
	if err != nil {
		return err
	}
	if scs, err = matching(scs, *only); err != nil {
		return err
	}
	for name, path := range functions {
		n := 0
		for _, sc := range scs {
			if sc.HasFunction(name) {
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("--function %s=%s: no scenario has a function %s", name, path, name)
		}
		fmt.Fprintf(stdout, "function %s is %s in %d scenario(s)\n", name, path, n)
	}
	start := time.Now()
	runner := &scenarios.Runner{Parallel: *parallel, Executables: functions}
	results := runner.Run(ctx, scs, func(r *scenarios.Result) {
		if !*quiet || !r.Passed() {
			_ = scenarios.WriteReport(stdout, r)
		}
	})
	elapsed := time.Since(start)
	summary := scenarios.Summary(results, elapsed)
	fmt.Fprintln(stdout, summary)
	if *junit != "" {
		if err := writeJUnit(*junit, results, elapsed); err != nil {
			return err
		}
	}
	for _, r := range results {
		if !r.Passed() {
			return fmt.Errorf("%w: %s", errScenariosFailed, summary)
		}
	}
	return nil
}

func writeJUnit(path string, results []*scenarios.Result, elapsed time.Duration) error {
	return writeFile(path, func(w io.Writer) error { return scenarios.WriteJUnit(w, results, elapsed) })
}

func scenarioList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scenario list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "print each file's whole description")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	scs, err := loadScenarios(paths)
	if err != nil {
		return err
	}
	file := ""
	for _, sc := range scs {
		if *verbose && sc.File != file {
			file = sc.File
			fmt.Fprintf(stdout, "\n%s\n  %s\n", sc.File, strings.ReplaceAll(strings.TrimSpace(sc.Description), "\n", "\n  "))
		}
		about := sc.VariantDescription
		if about == "" {
			about, _, _ = strings.Cut(strings.TrimSpace(sc.Description), "\n")
		}
		fmt.Fprintf(stdout, "%-42s %s\n", sc.Name, about)
	}
	return nil
}

func scenarioNew(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scenario new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.Bool("w", false, "write NAME.yaml instead of printing")
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return errors.New("usage: iotemu scenario new [-w] NAME")
	}
	if !*write {
		_, err := stdout.Write(scenarios.Template())
		return err
	}
	path := strings.TrimSuffix(names[0], ".yaml") + ".yaml"
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(scenarios.Template()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s; run it with: iotemu scenario run %s\n", path, path)
	return nil
}

// matching keeps the scenarios whose name matches expr ("" keeps all).
func matching(scs []*scenarios.Scenario, expr string) ([]*scenarios.Scenario, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("-run: %w", err)
	}
	var out []*scenarios.Scenario
	for _, sc := range scs {
		if re.MatchString(sc.Name) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scenario matches -run %q", expr)
	}
	return out, nil
}

// loadScenarios reads files and directories, or the embedded library when there are none.
func loadScenarios(paths []string) ([]*scenarios.Scenario, error) {
	if len(paths) == 0 {
		return scenarios.Library()
	}
	return scenarios.Load(paths...)
}

// parseInterleaved parses flags that may come before, between or after the positional
// arguments, and returns those.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
