package insights

import "regexp"

// expr is an expression of the language, evaluated against one row.
type expr interface {
	eval(r *row) value
}

type (
	fieldRef struct{ name string }
	literal  struct{ v value }
	// binary is a comparison (= != < <= > >=), and, or, or arithmetic (+ - * / %).
	binary struct {
		op   string
		l, r expr
	}
	notExpr struct{ e expr }
	negExpr struct{ e expr }
	// likeExpr is "like" with a string (a substring) or a regex, and "=~".
	likeExpr struct {
		e      expr
		substr string
		re     *regexp.Regexp
		negate bool
	}
	inExpr struct {
		e      expr
		list   []expr
		negate bool
	}
	call struct {
		fn   *function
		args []expr
	}
)

// named is an expression with the name its result carries: its alias, or its own text.
type named struct {
	e    expr
	name string
}

// command is one stage of the query pipeline.
type command interface{ isCommand() }

type (
	// fieldsCmd is fields (display false) or display (true).
	fieldsCmd struct {
		items   []named
		display bool
	}
	filterCmd struct{ cond expr }
	sortCmd   struct{ keys []sortKey }
	limitCmd  struct{ n int }
	statsCmd  struct {
		aggs []aggregate
		by   []named
	}
	// parseCmd extracts fields from a field with a glob (each * a name) or a regex (named groups).
	parseCmd struct {
		from  expr
		re    *regexp.Regexp
		names []string // the name of each capture group, in order
	}
	dedupCmd struct{ fields []expr }
)

func (fieldsCmd) isCommand() {}
func (filterCmd) isCommand() {}
func (sortCmd) isCommand()   {}
func (limitCmd) isCommand()  {}
func (statsCmd) isCommand()  {}
func (parseCmd) isCommand()  {}
func (dedupCmd) isCommand()  {}

type sortKey struct {
	e    expr
	desc bool
}

// aggregate is one stats function: count(*) has a nil arg.
type aggregate struct {
	fn   string
	arg  expr
	name string
}
