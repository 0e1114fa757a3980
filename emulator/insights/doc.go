// Package insights is the CloudWatch Logs Insights query language, over log events held in
// memory: Parse reads a query, Query.Run runs it over events and returns the rows the console
// and GetQueryResults show.
//
// Commands: fields, display, filter, sort, limit, stats (count, count_distinct, min, max, avg,
// sum, by fields and bin(period)), parse (a glob or a regex with named groups) and dedup.
// Expressions: comparisons, and, or, not, like with a string or a /regex/, =~, in [...],
// arithmetic, and the functions ispresent, isempty, isblank, strlen, tolower, toupper, trim,
// concat, coalesce, abs, ceil, floor, tomillis, frommillis and bin. Fields are the built-in
// @timestamp, @message, @logStream and @log, Lambda's @type, @requestId, @duration,
// @billedDuration, @memorySize, @maxMemoryUsed and @initDuration on its START, END and REPORT
// lines, and the members of JSON messages, nested ones named with dots.
//
// The package is pure: no clock, no I/O beyond WriteTable's writer. A query that does not parse
// gives a *SyntaxError with the line, column and byte offsets of the offending text and what
// was expected there.
package insights
