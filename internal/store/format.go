package store

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Output formats of WriteResult.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// Formats lists the formats WriteResult accepts.
var Formats = []string{FormatTable, FormatCSV, FormatJSON}

// WriteResult renders r to w as an aligned text table, CSV (header row
// first) or JSON (an array of objects keyed by column name, in column
// order). An empty format means table.
func WriteResult(w io.Writer, r *Result, format string) error {
	if r == nil {
		r = &Result{}
	}
	switch format {
	case "", FormatTable:
		return writeTable(w, r)
	case FormatCSV:
		return writeCSV(w, r)
	case FormatJSON:
		return writeJSON(w, r)
	default:
		return fmt.Errorf("output format %q: must be one of %s", format, strings.Join(Formats, ", "))
	}
}

func writeTable(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := make([]string, len(r.Columns))
	line := func() error {
		_, err := io.WriteString(tw, strings.TrimRight(strings.Join(row, "\t"), " ")+"\n")
		return err
	}
	copy(row, r.Columns)
	if err := line(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for i, c := range r.Columns {
		row[i] = strings.Repeat("-", max(utf8.RuneCountInString(c), 1))
	}
	if err := line(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for _, vals := range r.Rows {
		for i := range row {
			row[i] = ""
			if i < len(vals) {
				// Tabs and newlines inside a value would break the
				// alignment, so they are shown escaped.
				row[i] = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(Text(vals[i]))
			}
		}
		if err := line(); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if _, err := fmt.Fprintf(w, "(%d rows)\n", len(r.Rows)); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

func writeCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	rec := make([]string, len(r.Columns))
	for _, vals := range r.Rows {
		for i := range rec {
			rec[i] = ""
			if i < len(vals) {
				rec[i] = Text(vals[i])
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// writeJSON writes the objects by hand so that keys keep column order
// (a Go map would sort them).
func writeJSON(w io.Writer, r *Result) error {
	var b strings.Builder
	b.WriteString("[")
	for n, vals := range r.Rows {
		if n > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for i, c := range r.Columns {
			if i > 0 {
				b.WriteString(", ")
			}
			k, _ := json.Marshal(c)
			b.Write(k)
			b.WriteString(": ")
			var v any
			if i < len(vals) {
				v = jsonValue(vals[i])
			}
			enc, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("write json: row %d column %s: %w", n+1, c, err)
			}
			b.Write(enc)
		}
		b.WriteString("}")
	}
	if len(r.Rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// jsonValue makes driver values JSON-friendly: bytes become text, times
// use TimeLayout like the other formats, and pointers are followed.
func jsonValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return FormatTime(x)
	case *time.Time:
		if x == nil {
			return nil
		}
		return FormatTime(*x)
	case *string:
		if x == nil {
			return nil
		}
		return *x
	case float64:
		// JSON has no NaN or infinities; show them as text rather than fail.
		if x != x || x > 1.7976931348623157e308 || x < -1.7976931348623157e308 {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	}
	return v
}

// Text renders one value for the table and CSV formats: NULL as an empty
// cell, times as TimeLayout, bytes as text, everything else with fmt's
// default.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return FormatTime(x)
	case *time.Time:
		if x == nil {
			return ""
		}
		return FormatTime(*x)
	case *string:
		if x == nil {
			return ""
		}
		return *x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case []string, []any:
		// Lists (ClickHouse arrays) print as JSON, unambiguous in a cell.
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	default:
		return fmt.Sprint(v)
	}
}
