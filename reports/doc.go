package reports

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// A report is laid out once as a doc, then written as Markdown and as a
// self-contained HTML page, so the two never say different things.
type doc struct{ blocks []any }

type (
	heading struct {
		level int
		text  string
	}
	para    string
	bullets []string
	code    string
	figure  struct{ chart Chart }
	table   struct {
		header []string
		rows   [][]string
		// numeric is the number of leading text columns; the rest are
		// right-aligned numbers.
		numeric int
	}
)

func (d *doc) add(b any)                   { d.blocks = append(d.blocks, b) }
func (d *doc) heading(level int, t string) { d.add(heading{level, t}) }
func (d *doc) para(t string)               { d.add(para(t)) }
func (t *table) add(cells ...string)       { t.rows = append(t.rows, cells) }

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func writeMarkdown(w io.Writer, d doc) error {
	var b bytes.Buffer
	for _, blk := range d.blocks {
		switch v := blk.(type) {
		case heading:
			fmt.Fprintf(&b, "%s %s\n\n", strings.Repeat("#", v.level), v.text)
		case para:
			fmt.Fprintf(&b, "%s\n\n", v)
		case bullets:
			for _, item := range v {
				fmt.Fprintf(&b, "- %s\n", item)
			}
			b.WriteString("\n")
		case code:
			fmt.Fprintf(&b, "```\n%s\n```\n\n", strings.TrimRight(string(v), "\n"))
		case figure:
			fmt.Fprintf(&b, "![%s](%s.png)\n\n", v.chart.Title, v.chart.Base)
		case table:
			cells := make([]string, len(v.header))
			for i, h := range v.header {
				cells[i] = mdCell(h)
			}
			fmt.Fprintf(&b, "| %s |\n|", strings.Join(cells, " | "))
			for i := range v.header {
				if v.numeric > 0 && i >= v.numeric {
					b.WriteString("--:|")
				} else {
					b.WriteString("---|")
				}
			}
			b.WriteString("\n")
			for _, row := range v.rows {
				for i := range row {
					row[i] = mdCell(row[i])
				}
				fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
			}
			b.WriteString("\n")
		default:
			return fmt.Errorf("unknown block %T", blk)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

const htmlStyle = `body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:3px 7px}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.5em 0}figcaption{font-size:13px;color:#555}pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}
svg{max-width:100%;height:auto}figure.wide{overflow-x:auto}figure.wide svg{max-width:none}.scroll{overflow-x:auto}`

// inlineMarkup are the Markdown marks the report's text uses, each with
// the HTML elements it stands for.
var inlineMarkup = []struct{ mark, open, close string }{{"**", "<strong>", "</strong>"}, {"`", "<code>", "</code>"}}

// inlineHTML escapes text for HTML and turns its Markdown marks, where
// they come in pairs, into elements.
func inlineHTML(text string) string {
	s := html.EscapeString(text)
	for _, m := range inlineMarkup {
		parts := strings.Split(s, m.mark)
		if len(parts)%2 == 0 {
			continue // an unpaired mark is text
		}
		var b strings.Builder
		for i, p := range parts {
			switch {
			case i == 0:
			case i%2 == 1:
				b.WriteString(m.open)
			default:
				b.WriteString(m.close)
			}
			b.WriteString(p)
		}
		s = b.String()
	}
	return s
}

// writeHTML writes a page that needs nothing else: the SVG charts are
// read from dir and put inline.
func writeHTML(w io.Writer, d doc, dir string) error {
	var b bytes.Buffer
	title := "cachebench report"
	if len(d.blocks) > 0 {
		if h, ok := d.blocks[0].(heading); ok {
			title = h.text
		}
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\"><title>%s</title><style>%s</style></head><body>\n", html.EscapeString(title), htmlStyle)
	for _, blk := range d.blocks {
		switch v := blk.(type) {
		case heading:
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", v.level, html.EscapeString(v.text), v.level)
		case para:
			fmt.Fprintf(&b, "<p>%s</p>\n", inlineHTML(string(v)))
		case bullets:
			b.WriteString("<ul>\n")
			for _, item := range v {
				fmt.Fprintf(&b, "<li>%s</li>\n", inlineHTML(item))
			}
			b.WriteString("</ul>\n")
		case code:
			fmt.Fprintf(&b, "<pre>%s</pre>\n", html.EscapeString(string(v)))
		case figure:
			svg, err := os.ReadFile(filepath.Join(dir, v.chart.Base+".svg"))
			if err != nil {
				return fmt.Errorf("inline chart: %w", err)
			}
			if i := bytes.Index(svg, []byte("<svg")); i > 0 {
				svg = svg[i:] // drop the XML prolog: not allowed inside HTML
			}
			class := ""
			if v.chart.Wide {
				// Shrunk to the page, its text would be too small to read.
				class = ` class="wide"`
			}
			fmt.Fprintf(&b, "<figure%s>%s<figcaption>%s</figcaption></figure>\n", class, svg, html.EscapeString(v.chart.Title))
		case table:
			// A wide table scrolls on its own on a phone, not the page.
			b.WriteString("<div class=\"scroll\"><table><tr>")
			for _, h := range v.header {
				fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(h))
			}
			b.WriteString("</tr>\n")
			for _, row := range v.rows {
				b.WriteString("<tr>")
				for i, c := range row {
					class := ""
					if v.numeric > 0 && i >= v.numeric {
						class = ` class="n"`
					}
					fmt.Fprintf(&b, "<td%s>%s</td>", class, html.EscapeString(c))
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</table></div>\n")
		default:
			return fmt.Errorf("unknown block %T", blk)
		}
	}
	b.WriteString("</body></html>\n")
	_, err := w.Write(b.Bytes())
	return err
}
