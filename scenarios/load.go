package scenarios

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iotemu/iotemu/emulator"
)

// Scenario is one runnable scenario: a file without variants, or one variant of a file.
type Scenario struct {
	// Name is the file's base name without extension, plus "/VARIANT" for a variant.
	Name string
	// File is the path the scenario was read from.
	File string
	// Description is the file's description: the symptom, its cause and the fix.
	Description string
	// VariantDescription is what the variant shows ("" for a file without variants).
	VariantDescription string
	// Cause is the file's cause: CauseDevice, CauseFunction, CauseCertificate, or "" when it
	// declares none.
	Cause string

	setup    setup
	clients  map[string]*client
	steps    []*step
	keyFiles map[*keyFile]*rsa.PrivateKey // keys read from files
	static   map[string][]staticAnswer    // compiled static functions, by function name
}

// HasFunction reports whether the scenario has a function of that name, which
// Runner.Executables can replace.
func (sc *Scenario) HasFunction(name string) bool {
	_, ok := sc.setup.Functions[name]
	return ok
}

// source is where a scenario file comes from: how to read the files it names (key files),
// and the directory its executables' relative paths start from ("" when it is not on disk).
type source struct {
	read func(name string) ([]byte, error)
	dir  string
}

// Parse validates a scenario file against the schema, then checks its cross-references, and
// returns its scenarios. name appears in error messages; key files are read relative to its
// directory. Problems are returned as Errors, each with the file, line and column.
func Parse(name string, data []byte) ([]*Scenario, error) {
	dir := filepath.Dir(name)
	return parse(name, data, source{dir: dir, read: func(rel string) ([]byte, error) {
		if !filepath.IsAbs(rel) {
			rel = filepath.Join(dir, rel)
		}
		return os.ReadFile(rel)
	}})
}

// Load reads scenario files, and every *.yaml and *.yml file of the directories given, in
// name order.
func Load(paths ...string) ([]*Scenario, error) {
	var out []*Scenario
	for _, p := range paths {
		files := []string{p}
		if info, err := os.Stat(p); err != nil {
			return nil, err
		} else if info.IsDir() {
			if files, err = yamlFiles(os.DirFS(p), "."); err != nil {
				return nil, err
			}
			for i, f := range files {
				files[i] = filepath.Join(p, filepath.FromSlash(f))
			}
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			scs, err := Parse(f, data)
			if err != nil {
				return nil, err
			}
			out = append(out, scs...)
		}
	}
	return out, nil
}

// LoadFS reads every *.yaml and *.yml file under dir in fsys, in name order.
func LoadFS(fsys fs.FS, dir string) ([]*Scenario, error) {
	files, err := yamlFiles(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		scs, err := parse(f, data, source{read: func(rel string) ([]byte, error) { return fs.ReadFile(fsys, path.Join(path.Dir(f), rel)) }})
		if err != nil {
			return nil, err
		}
		out = append(out, scs...)
	}
	return out, nil
}

// yamlFiles lists the YAML files of a directory tree.
func yamlFiles(fsys fs.FS, dir string) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	slices.Sort(files)
	return files, err
}

// parse validates, decodes and checks one file: the schema on the YAML node tree (so that
// each problem has its line and column), then the cross-references of each scenario.
func parse(name string, data []byte, src source) ([]*Scenario, error) {
	p := &problems{file: name}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, err)
	}
	if resolve(&root) == nil {
		p.add(pos{1, 1}, "the file is empty")
		return nil, p.err()
	}
	validate(p, &root, rootSchema(), "")
	if err := p.err(); err != nil {
		return nil, err
	}
	// Strict decoding: a key the schema allows but the Go types lack is a bug to surface.
	var doc document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, syntaxError(name, err)
	}
	base := strings.TrimSuffix(path.Base(filepath.ToSlash(name)), path.Ext(name))
	if src.dir != "" {
		resolveExecutables(&doc, src.dir)
	}
	scs := expand(name, base, &doc)
	files := loadKeyFiles(p, &doc, src.read)
	for _, sc := range scs {
		sc.keyFiles = files
		sc.check(p, len(doc.Variants) > 0)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return scs, nil
}

// syntaxError names the file in a YAML parser error. (The parser's line numbers are its own:
// for some errors they point at the line before the construct that fails.)
func syntaxError(name string, err error) error {
	return fmt.Errorf("%s: %w", name, err)
}

// expand turns a document into its scenarios: one per variant, each the document with the
// variant applied, or the document itself when it has no variants.
func expand(file, base string, doc *document) []*Scenario {
	if len(doc.Variants) == 0 {
		return []*Scenario{{Name: base, File: file, Description: doc.Description, Cause: doc.Cause, setup: doc.Setup, clients: doc.Clients, steps: doc.Steps}}
	}
	var out []*Scenario
	for _, v := range doc.Variants {
		sc := &Scenario{
			Name:               base + "/" + v.name,
			File:               file,
			Description:        doc.Description,
			VariantDescription: v.Description,
			Cause:              doc.Cause,
			setup:              doc.Setup.with(v.Setup),
			clients:            merged(doc.Clients, v.Clients),
			steps:              doc.Steps,
		}
		if v.Steps != nil {
			sc.steps = v.Steps
		}
		out = append(out, sc)
	}
	return out
}

// with returns s with a variant's setup applied: its scalars replace s's, its keys,
// functions and authorizers replace s's entries of the same name.
func (s setup) with(v setup) setup {
	for _, f := range []struct{ dst, src *string }{{&s.AccountID, &v.AccountID}, {&s.Region, &v.Region}, {&s.EndpointPrefix, &v.EndpointPrefix}} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	if v.DefaultAuthorizer != nil {
		s.DefaultAuthorizer = v.DefaultAuthorizer
	}
	s.Keys = merged(s.Keys, v.Keys)
	s.Functions = merged(s.Functions, v.Functions)
	s.Authorizers = merged(s.Authorizers, v.Authorizers)
	return s.withX509(v)
}

// merged returns base with over's entries replacing base's of the same name.
func merged[V any](base, over map[string]V) map[string]V {
	out := make(map[string]V, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

// setups returns the document's setup and each variant's.
func (doc *document) setups() []*setup {
	out := []*setup{&doc.Setup}
	for i := range doc.Variants {
		out = append(out, &doc.Variants[i].Setup)
	}
	return out
}

// resolveExecutables makes executables' relative paths start from the file's directory.
func resolveExecutables(doc *document, dir string) {
	for _, s := range doc.setups() {
		for _, f := range s.Functions {
			if f.Path != "" && !filepath.IsAbs(f.Path) {
				f.Path = filepath.Join(dir, f.Path)
			}
		}
	}
}

// loadKeyFiles reads every key file a document names, in the file or in a variant.
func loadKeyFiles(p *problems, doc *document, read func(string) ([]byte, error)) map[*keyFile]*rsa.PrivateKey {
	out := map[*keyFile]*rsa.PrivateKey{}
	for _, s := range doc.setups() {
		for name, k := range s.Keys {
			if k == nil || k.File == "" {
				continue
			}
			data, err := read(k.File)
			if err == nil {
				out[k], err = emulator.ParsePrivateKeyPEM(data)
			}
			if err != nil {
				p.add(k.at, "key %s: %s: %v", name, k.File, err)
			}
		}
	}
	return out
}
