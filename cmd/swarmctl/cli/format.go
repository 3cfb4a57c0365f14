package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Keys of --format with a meaning of their own.
const (
	// TableFormatKey starts a format printed as an aligned table with a
	// header row; alone it means the command's default table.
	TableFormatKey = "table"
	// JSONFormatKey prints each row as one line of JSON.
	JSONFormatKey = "json"
	// QuietFormat is what -q prints: one ID a line.
	QuietFormat = "{{.ID}}"
)

// NewTabWriter returns the docker CLI's table writer: columns at least 10
// wide, 3 spaces between them.
func NewTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
}

// ListFormat resolves a list command's --format value the docker way: ""
// and "table" mean defaultTable, or QuietFormat with -q; "json" means one
// JSON object a line; anything else is a template used as given.
func ListFormat(format string, quiet bool, defaultTable string) string {
	switch format {
	case "", TableFormatKey:
		if quiet {
			return QuietFormat
		}
		return defaultTable
	case JSONFormatKey:
		return "{{json .}}"
	}
	return format
}

// WriteFormatted renders each row with the Go template format, one row a
// line. A format starting with "table" is printed as a docker table: a
// header row, then the rows, columns (cells separated by \t) aligned. The
// header names come from the struct fields of T: a field's `header` tag,
// else its name upper-cased and split into words (ManagerStatus → "MANAGER
// STATUS"). As in docker, the literal sequences \t and \n in format stand
// for a tab and a newline.
func WriteFormatted[T any](w io.Writer, format string, rows []T) error {
	table := strings.HasPrefix(format, TableFormatKey)
	if table {
		format = strings.TrimPrefix(format, TableFormatKey)
	}
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.Trim(format, " "))
	tmpl, err := ParseTemplate(format)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	for _, row := range rows {
		if err := tmpl.Execute(&body, row); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		body.WriteByte('\n')
	}
	if !table {
		_, err := body.WriteTo(w)
		return err
	}
	var header bytes.Buffer
	if err := tmpl.Execute(&header, headers(reflect.TypeFor[T]())); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	header.WriteByte('\n')
	tw := NewTabWriter(w)
	if _, err := header.WriteTo(tw); err != nil {
		return err
	}
	if _, err := body.WriteTo(tw); err != nil {
		return err
	}
	return tw.Flush()
}

// ParseTemplate parses a --format template with docker's template
// functions: json, join, split, lower, upper, title, pad, truncate.
func ParseTemplate(format string) (*template.Template, error) {
	tmpl, err := template.New("").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return tmpl, nil
}

// HeaderName is the table header docker shows for a field: its words
// upper-cased and separated by spaces (EngineVersion → "ENGINE VERSION",
// TLSStatus → "TLS STATUS").
func HeaderName(field string) string {
	runes := []rune(field)
	var b strings.Builder
	for i, r := range runes {
		if i > 0 && unicode.IsUpper(r) {
			prev := runes[i-1]
			acronymEnd := unicode.IsUpper(prev) && i+1 < len(runes) && unicode.IsLower(runes[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || acronymEnd {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// headers maps the fields of a row type to their table headers; a table
// template executed on it prints the header row. Missing keys print
// nothing, so `{{if .Self}}` is false in the header.
func headers(t reflect.Type) map[string]string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	h := map[string]string{}
	if t.Kind() != reflect.Struct {
		return h
	}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		if tag, ok := f.Tag.Lookup("header"); ok {
			h[f.Name] = tag
		} else {
			h[f.Name] = HeaderName(f.Name)
		}
	}
	return h
}

var templateFuncs = template.FuncMap{
	"json":     jsonString,
	"join":     strings.Join,
	"split":    strings.Split,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"title":    title,
	"pad":      pad,
	"truncate": truncate,
}

// jsonString is the template function json: protobuf messages in their
// canonical JSON mapping, anything else with encoding/json; one line,
// without HTML escaping.
func jsonString(v any) (string, error) {
	if m, ok := v.(proto.Message); ok {
		raw, err := protojson.Marshal(m)
		if err != nil {
			return "", err
		}
		// protojson varies its spacing on purpose; compact it to be stable.
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(prev) {
			r = unicode.ToUpper(r)
		}
		prev = r
		return r
	}, s)
}

func pad(s string, before, after int) string {
	return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
