package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small, allocation-light JSON scanner. The parsers read a
// few dozen fields out of records that are mostly payload they ignore
// (CloudTrail requestParameters, Kubernetes request and response objects),
// so walking the bytes once and slicing out the values they need is several
// times faster than decoding everything into structs with reflection. It is
// lenient about what it skips (it checks structure, not every number) and
// strict about what it returns: a string that is not valid JSON is an error.
//
// Every function takes the bytes of one JSON value with no leading
// whitespace, and none of them panics on any input.

var errSyntax = errors.New("malformed JSON")

// maxDepth bounds nesting so hostile input cannot make us work forever on
// brackets; real audit records nest a few dozen levels at most.
const maxDepth = 512

func isWS(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the closing quote of the string
// starting at b[i] == '"', and whether it contains escapes. It looks at
// eight bytes at a time for a quote, backslash or newline (SWAR: the
// lowest flagged byte of a word is exact). Raw newlines are refused so a
// broken line cannot swallow the next; other control characters, which
// JSON also forbids, are let through: they cannot confuse the structure.
func skipString(b []byte, i int) (int, bool, error) {
	esc := false
	j := i + 1
	for {
		for j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			m := zeroBytes(w^(swarLo*'"')) | zeroBytes(w^(swarLo*'\\')) | zeroBytes(w^(swarLo*'\n'))
			if m != 0 {
				j += bits.TrailingZeros64(m) / 8
				break
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] != '\n' {
			j++
		}
		if j >= len(b) {
			return 0, false, fmt.Errorf("%w: unterminated string at offset %d", errSyntax, i)
		}
		switch b[j] {
		case '"':
			return j + 1, esc, nil
		case '\n':
			return 0, false, fmt.Errorf("%w: newline in string at offset %d", errSyntax, j)
		}
		esc = true
		j += 2
	}
}

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// zeroBytes flags (with 0x80) the zero bytes of x; only the lowest flag is
// guaranteed exact, which is all skipString needs.
func zeroBytes(x uint64) uint64 { return (x - swarLo) &^ x & swarHi }

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, fmt.Errorf("%w: unexpected end of input", errSyntax)
	}
	switch c := b[i]; c {
	case '"':
		end, _, err := skipString(b, i)
		return end, err
	case '{', '[':
		return skipNested(b, i)
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			j := i + 1
			for j < len(b) && isNumByte(b[j]) {
				j++
			}
			return j, nil
		}
		return 0, fmt.Errorf("%w: unexpected %q at offset %d", errSyntax, c, i)
	}
}

func isNumByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, fmt.Errorf("%w: bad literal at offset %d", errSyntax, i)
	}
	return i + len(lit), nil
}

// skipNested skips an object or array without recursion, keeping the open
// brackets on a small stack so that "{]" is caught.
func skipNested(b []byte, i int) (int, error) {
	var stackBuf [32]byte
	stack := stackBuf[:0]
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			end, _, err := skipString(b, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			if len(stack) >= maxDepth {
				return 0, fmt.Errorf("%w: nested deeper than %d at offset %d", errSyntax, maxDepth, j)
			}
			stack = append(stack, c)
		case '}', ']':
			open := byte('{')
			if c == ']' {
				open = '['
			}
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return 0, fmt.Errorf("%w: unbalanced %q at offset %d", errSyntax, c, j)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unterminated object or array at offset %d", errSyntax, i)
}

// objectEach calls fn for every member of the object b. key is the member
// name (unescaped), val the raw bytes of its value. fn returning an error
// stops the walk and returns that error.
func objectEach(b []byte, fn func(key, val []byte) error) error {
	_, err := objectWalk(b, fn)
	return err
}

// objectWalk is objectEach that also returns the index just past the
// closing brace.
func objectWalk(b []byte, fn func(key, val []byte) error) (int, error) {
	if len(b) == 0 || b[0] != '{' {
		return 0, fmt.Errorf("%w: not an object", errSyntax)
	}
	i := skipWS(b, 1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, fmt.Errorf("%w: expected member name at offset %d", errSyntax, i)
		}
		end, esc, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : end-1]
		if esc {
			s, ok := unescape(key)
			if !ok {
				return 0, fmt.Errorf("%w: bad escape in member name at offset %d", errSyntax, i)
			}
			key = []byte(s)
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, fmt.Errorf("%w: expected ':' at offset %d", errSyntax, i)
		}
		i = skipWS(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return 0, err
		}
		if err := fn(key, b[i:vend]); err != nil {
			return 0, err
		}
		i = skipWS(b, vend)
		if i >= len(b) {
			return 0, fmt.Errorf("%w: unterminated object", errSyntax)
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, fmt.Errorf("%w: expected ',' or '}' at offset %d", errSyntax, i)
		}
		i = skipWS(b, i+1)
	}
}

// member is one name/value pair of an object, as raw bytes.
type member struct{ key, val []byte }

// arrayEach calls fn for every element of the array b.
func arrayEach(b []byte, fn func(val []byte) error) error {
	if len(b) == 0 || b[0] != '[' {
		return fmt.Errorf("%w: not an array", errSyntax)
	}
	i := skipWS(b, 1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for {
		vend, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if err := fn(b[i:vend]); err != nil {
			return err
		}
		i = skipWS(b, vend)
		if i >= len(b) {
			return fmt.Errorf("%w: unterminated array", errSyntax)
		}
		if b[i] == ']' {
			return nil
		}
		if b[i] != ',' {
			return fmt.Errorf("%w: expected ',' or ']' at offset %d", errSyntax, i)
		}
		i = skipWS(b, i+1)
	}
}

// objGet returns the raw value of member key of object b, or nil.
func objGet(b []byte, key string) []byte {
	var out []byte
	_ = objectEach(b, func(k, v []byte) error {
		if string(k) == key {
			out = v
			return errStop
		}
		return nil
	})
	return out
}

// objPath follows nested members: objPath(b, "a", "b") is b.a.b.
func objPath(b []byte, keys ...string) []byte {
	for _, k := range keys {
		if b = objGet(b, k); b == nil {
			return nil
		}
	}
	return b
}

var errStop = errors.New("stop")

// str returns the string value of v; "" for anything that is not a valid
// JSON string (null, numbers, objects), so callers treat absent and wrong
// type alike.
func str(v []byte) string {
	s, _ := strOK(v)
	return s
}

// strOK is str that also reports whether v was a valid string.
func strOK(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c == '\\' {
			return unescape(body)
		}
	}
	return string(body), true
}

// scalar returns strings unescaped and numbers and booleans as written, so
// fields that some producers quote and others do not read the same.
func scalar(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		return str(v)
	case '{', '[', 'n':
		return ""
	}
	return string(v)
}

// num returns v as an integer (quoted or not), and whether it was one.
func num(v []byte) (int64, bool) {
	s := scalar(v)
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != f || f > 9e18 || f < -9e18 {
			return 0, false
		}
		return int64(f), true
	}
	return n, true
}

func isNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

// unescape decodes the body of a JSON string that contains escapes.
func unescape(b []byte) (string, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return "", false
		}
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(b, i+1)
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if r2, ok := hex4(b, i+3); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						} else {
							r = utf8.RuneError
						}
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return string(out), true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// trimValue checks that b holds exactly one JSON value (surrounded by
// optional whitespace) and returns it.
func trimValue(b []byte) ([]byte, error) {
	i := skipWS(b, 0)
	end, err := skipValue(b, i)
	if err != nil {
		return nil, err
	}
	if j := skipWS(b, end); j != len(b) {
		return nil, fmt.Errorf("%w: trailing data at offset %d", errSyntax, j)
	}
	return b[i:end], nil
}
