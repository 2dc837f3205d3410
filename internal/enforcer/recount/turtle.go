package recount

import (
	"fmt"
	"net/url"
	"strings"
)

const ldpContains = "http://www.w3.org/ns/ldp#contains"

// NOTE: no Turtle library is available to this module, so this reads only what a container
// listing needs: @prefix/PREFIX declarations, IRIs, prefixed names, literals (skipped), and
// predicate-object lists. Blank node property lists and collections are skipped as a whole.

// containedIRIs returns the absolute IRIs that a Turtle document links with ldp:contains,
// resolved against base.
func containedIRIs(doc string, base *url.URL) ([]string, error) {
	tokens, err := tokenize(doc)
	if err != nil {
		return nil, err
	}
	prefixes := map[string]string{}
	var out []string
	predicate := ""
	position := 0 // 0 subject, 1 predicate, 2 object
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		switch {
		case tok == "@prefix" || strings.EqualFold(tok, "PREFIX"):
			if i+2 >= len(tokens) {
				return nil, fmt.Errorf("incomplete prefix declaration")
			}
			prefixes[strings.TrimSuffix(tokens[i+1], ":")] = strings.Trim(tokens[i+2], "<>")
			i += 2
			if i+1 < len(tokens) && tokens[i+1] == "." {
				i++
			}
		case tok == "@base" || strings.EqualFold(tok, "BASE"):
			if i+1 < len(tokens) {
				if b, err := base.Parse(strings.Trim(tokens[i+1], "<>")); err == nil {
					base = b
				}
				i++
			}
		case tok == ".":
			position = 0
		case tok == ";":
			position = 1
		case tok == ",":
			position = 2
		default:
			switch position {
			case 0:
				position = 1
			case 1:
				predicate, position = expand(tok, prefixes, base), 2
			default:
				if predicate == ldpContains && tok != "\"" && tok != "_:group" {
					out = append(out, expand(tok, prefixes, base))
				}
			}
		}
	}
	return out, nil
}

// expand turns an IRI reference or a prefixed name into an absolute IRI.
func expand(tok string, prefixes map[string]string, base *url.URL) string {
	if tok == "a" {
		return "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
	}
	if strings.HasPrefix(tok, "<") {
		ref, err := base.Parse(strings.Trim(tok, "<>"))
		if err != nil {
			return tok
		}
		return ref.String()
	}
	if prefix, local, ok := strings.Cut(tok, ":"); ok {
		if ns, known := prefixes[prefix]; known {
			return ns + local
		}
	}
	return tok
}

// tokenize splits a Turtle document into IRIs, names, punctuation and literals. Comments are
// dropped, and bracketed blank nodes and collections become a single token.
func tokenize(doc string) ([]string, error) {
	var tokens []string
	for i := 0; i < len(doc); {
		c := doc[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '#':
			for i < len(doc) && doc[i] != '\n' {
				i++
			}
		case c == '<':
			end := strings.IndexByte(doc[i:], '>')
			if end < 0 {
				return nil, fmt.Errorf("unterminated IRI at byte %d", i)
			}
			tokens, i = append(tokens, doc[i:i+end+1]), i+end+1
		case c == '"' || c == '\'':
			end, err := skipString(doc, i)
			if err != nil {
				return nil, err
			}
			tokens, i = append(tokens, "\""), end
		case c == '[' || c == '(':
			end, err := skipGroup(doc, i)
			if err != nil {
				return nil, err
			}
			tokens, i = append(tokens, "_:group"), end
		case c == ';' || c == ',':
			tokens, i = append(tokens, string(c)), i+1
		case c == '.' && (i+1 == len(doc) || !isNameChar(doc[i+1])):
			tokens, i = append(tokens, "."), i+1
		default:
			start := i
			for i < len(doc) && !strings.ContainsRune(" \t\r\n;,<\"'[(", rune(doc[i])) &&
				!(doc[i] == '.' && (i+1 == len(doc) || !isNameChar(doc[i+1]))) {
				i++
			}
			tokens = append(tokens, doc[start:i])
		}
	}
	return tokens, nil
}

func isNameChar(c byte) bool {
	return c == '_' || c == '-' || c == ':' || c == '%' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z') || c >= 0x80
}

// skipString returns the index after the string literal that starts at i, with its datatype or
// language tag left for the tokenizer.
func skipString(doc string, i int) (int, error) {
	quote := doc[i : i+1]
	if strings.HasPrefix(doc[i:], quote+quote+quote) {
		end := strings.Index(doc[i+3:], quote+quote+quote)
		if end < 0 {
			return 0, fmt.Errorf("unterminated long string at byte %d", i)
		}
		return i + 3 + end + 3, nil
	}
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case quote[0]:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at byte %d", i)
}

// skipGroup returns the index after the bracketed group that starts at i.
func skipGroup(doc string, i int) (int, error) {
	depth := 0
	for j := i; j < len(doc); j++ {
		switch doc[j] {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		case '"', '\'':
			end, err := skipString(doc, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '<':
			if end := strings.IndexByte(doc[j:], '>'); end >= 0 {
				j += end
			}
		}
	}
	return 0, fmt.Errorf("unterminated group at byte %d", i)
}
