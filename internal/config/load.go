// Package config loads agentwatch's configuration with koanf: built-in
// defaults, then a YAML file, then AGENTWATCH_* environment variables,
// then command-line overrides, each layer winning over the one before.
// Unknown keys and values of the wrong type stop the start with the key
// named (and, for the file, its line).
package config

import (
	"bytes"
	"encoding"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	yamlv3 "gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable agentwatch reads. Nesting
// uses a double underscore: AGENTWATCH_BUS__BROKERS=a:9092,b:9092 sets
// bus.brokers, AGENTWATCH_DATA_DIR sets data_dir. Variables without "__"
// that name no top-level key belong to scripts and tests and are ignored.
const EnvPrefix = "AGENTWATCH_"

// Sources says where the layers come from.
type Sources struct {
	File string // YAML file; "" for none
	// Environ provides the environment (tests inject it); nil = os.Environ.
	Environ func() []string
	// Overrides are "key=value" pairs from flags, applied last.
	Overrides []string
}

// Load fills dst (a pointer to a struct already holding the defaults) from
// the layers in src. Keys are the structs' `koanf` tags joined with ".".
func Load(dst any, src Sources) error {
	k := koanf.New(".")
	var fileNode *yamlv3.Node
	if src.File != "" {
		data, err := os.ReadFile(src.File)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		var n yamlv3.Node
		if err := yamlv3.Unmarshal(data, &n); err != nil {
			return fmt.Errorf("%s: %w", src.File, err)
		}
		fileNode = &n
		if err := k.Load(file.Provider(src.File), yaml.Parser()); err != nil {
			return fmt.Errorf("%s: %w", src.File, err)
		}
		if err := checkKnown(reflect.TypeOf(dst).Elem(), k.Raw(), "", func(key string) string {
			if line := lineOf(fileNode, key); line > 0 {
				return fmt.Sprintf("%s:%d: ", src.File, line)
			}
			return src.File + ": "
		}); err != nil {
			return err
		}
	}
	envK := koanf.New(".")
	top := map[string]reflect.StructField{}
	collectFields(reflect.TypeOf(dst).Elem(), top)
	if err := envK.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: src.Environ,
		TransformFunc: func(k, v string) (string, any) {
			key, val := envKey(k, v)
			// Scripts and tests share the prefix (AGENTWATCH_STATE_DIR,
			// AGENTWATCH_TEST_KAFKA): a variable is configuration when it
			// nests with "__" or names a top-level key; only those are
			// checked for unknown keys.
			if _, ok := top[key]; !ok && !strings.Contains(k, "__") {
				return "", nil
			}
			return key, val
		},
	}), nil); err != nil {
		return fmt.Errorf("read environment: %w", err)
	}
	if err := checkKnown(reflect.TypeOf(dst).Elem(), envK.Raw(), "", func(key string) string {
		return "environment " + EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__")) + ": "
	}); err != nil {
		return err
	}
	if err := k.Merge(envK); err != nil {
		return err
	}
	over := map[string]any{}
	for _, kv := range src.Overrides {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return fmt.Errorf("override %q: want key=value", kv)
		}
		over[strings.TrimSpace(key)] = val
	}
	overK := koanf.New(".")
	if err := overK.Load(confmap.Provider(over, "."), nil); err != nil {
		return err
	}
	if err := checkKnown(reflect.TypeOf(dst).Elem(), overK.Raw(), "", func(string) string { return "flag: " }); err != nil {
		return err
	}
	if err := k.Merge(overK); err != nil {
		return err
	}
	dc := &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			mapstructure.TextUnmarshallerHookFunc(),
		),
		WeaklyTypedInput: true,
		Result:           dst,
		TagName:          "koanf",
	}
	if err := k.UnmarshalWithConf("", dst, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: dc}); err != nil {
		return fmt.Errorf("config: %s", cleanDecodeError(err))
	}
	return nil
}

func envKey(k, v string) (string, any) {
	k = strings.TrimPrefix(k, EnvPrefix)
	k = strings.ToLower(strings.ReplaceAll(k, "__", "."))
	return k, v
}

// cleanDecodeError turns mapstructure's multi-line report into one line
// that still names each key.
func cleanDecodeError(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, "decoding failed due to the following error(s):", "")
	lines := []string{}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "*"))
		if l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

var (
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	durationType    = reflect.TypeOf(time.Duration(0))
)

// checkKnown walks raw (a nested map from one layer) against t and reports
// the first key that no struct field names, in sorted order so the message
// is stable.
func checkKnown(t reflect.Type, raw any, prefix string, where func(string) string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) || t == durationType {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			if raw == nil {
				return nil
			}
			return fmt.Errorf("%skey %s: want a mapping, got %v", where(prefix), nonEmpty(prefix), describe(raw))
		}
		fields := map[string]reflect.StructField{}
		collectFields(t, fields)
		keys := make([]string, 0, len(m))
		for key := range m {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			full := join(prefix, key)
			f, ok := fields[key]
			if !ok {
				return fmt.Errorf("%sunknown key %s", where(full), full)
			}
			if err := checkKnown(f.Type, m[key], full, where); err != nil {
				return err
			}
		}
	case reflect.Slice:
		items, ok := raw.([]any)
		if !ok {
			return nil // a comma-separated string, decoded later
		}
		for i, it := range items {
			if err := checkKnown(t.Elem(), it, fmt.Sprintf("%s[%d]", prefix, i), where); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil
		}
		for key, v := range m {
			if err := checkKnown(t.Elem(), v, join(prefix, key), where); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectFields(t reflect.Type, out map[string]reflect.StructField) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("koanf")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "squash")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, out)
				continue
			}
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func nonEmpty(s string) string {
	if s == "" {
		return "(top level)"
	}
	return s
}

func describe(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// lineOf finds the line of a dotted key path ("alerts.receivers[1].name")
// in a YAML document, or 0.
func lineOf(doc *yamlv3.Node, key string) int {
	n := doc
	if n.Kind == yamlv3.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(key, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		if n.Kind != yamlv3.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return line
		}
		if idx >= 0 {
			if n.Kind != yamlv3.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// Print writes cfg (a struct) as YAML keyed by the koanf tags, as Load
// reads it, with every Secret shown as Redacted.
func Print(cfg any) ([]byte, error) {
	m := toPlain(reflect.ValueOf(cfg))
	var buf bytes.Buffer
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()

func toPlain(v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	if v.Type().Implements(textMarshaler) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "<unprintable>"
		}
		return string(b)
	}
	switch v.Kind() {
	case reflect.Struct:
		out := yamlv3.Node{Kind: yamlv3.MappingNode}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("koanf"), ",")
			if name == "-" {
				continue
			}
			if f.Anonymous && (name == "" || strings.Contains(opts, "squash")) {
				if sub, ok := toPlain(v.Field(i)).(*yamlv3.Node); ok {
					out.Content = append(out.Content, sub.Content...)
				}
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			var val yamlv3.Node
			if err := val.Encode(toPlain(v.Field(i))); err != nil {
				continue
			}
			out.Content = append(out.Content, &yamlv3.Node{Kind: yamlv3.ScalarNode, Value: name}, &val)
		}
		return &out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return "<bytes>"
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = toPlain(v.Index(i))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, key := range v.MapKeys() {
			out[fmt.Sprint(key.Interface())] = toPlain(v.MapIndex(key))
		}
		return out
	default:
		return v.Interface()
	}
}
