package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Output formats (-o): DM's JSON shapes, so that scripts written for DM's dmctl keep working,
// or a table for people.
const (
	formatJSON  = "json"
	formatTable = "table"
)

// view is what a verb prints: DM's JSON shape, and the lines of its table.
type view struct {
	dm    any
	table func(tw *tabwriter.Writer)
}

// printer writes views in the format of -o.
type printer struct {
	format string
	w      io.Writer
}

func (p printer) show(v view) error {
	if p.format == formatTable && v.table != nil {
		tw := newTable(p.w)
		v.table(tw)
		return tw.Flush()
	}
	return writeJSON(p.w, v.dm)
}

// newTable is a kubectl-style table: columns padded by three spaces.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
}

// row writes one table line; cells are flattened to one line each.
func row(tw *tabwriter.Writer, cells ...string) {
	for i, c := range cells {
		cells[i] = oneLine(c)
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// oneLine folds a message onto one line (errors carry newlines) and keeps tabs out of cells.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s))
}

// writeJSON indents like DM's dmctl (four spaces) and leaves <, > and & as they are (SQL).
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("format the answer: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// printError reports a failed run: DM's {"result": false, "msg": ...} (with the DM error code
// when a master gave one) on stdout in JSON mode, one line on stderr in table mode.
func printError(format string, stdout, stderr io.Writer, err error) {
	code, hasCode := errorCode(err)
	if format == formatTable {
		line := "Error: " + oneLine(err.Error())
		if hasCode && code != 0 {
			line += fmt.Sprintf(" (code %d)", code)
		}
		fmt.Fprintln(stderr, line)
		return
	}
	out := struct {
		Result bool   `json:"result"`
		Msg    string `json:"msg"`
		Code   *int   `json:"code,omitempty"`
	}{Msg: err.Error()}
	if hasCode {
		out.Code = &code
	}
	if werr := writeJSON(stdout, out); werr != nil {
		fmt.Fprintln(stderr, "Error:", oneLine(err.Error()))
	}
}
