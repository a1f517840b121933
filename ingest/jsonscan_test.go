package ingest

import "testing"

func TestScannerBasics(t *testing.T) {
	obj := []byte(`{ "a" : "x\ny\u00e9" , "b":{"c":[1, {"d":"e"}]}, "n": -1.5e3, "t": true, "z": null, "q\"k": 1 }`)
	if s := str(objGet(obj, "a")); s != "x\nyé" {
		t.Errorf("a = %q", s)
	}
	if s := str(objPath(obj, "b", "c")); s != "" {
		t.Errorf("array as string = %q, want empty", s)
	}
	if v := string(objGet(obj, "n")); v != "-1.5e3" {
		t.Errorf("n = %q", v)
	}
	if n, ok := num(objGet(obj, "n")); !ok || n != -1500 {
		t.Errorf("num(n) = %d %v", n, ok)
	}
	if !isNull(objGet(obj, "z")) || objGet(obj, "missing") != nil {
		t.Error("null / missing")
	}
	if v := objGet(obj, `q"k`); string(v) != "1" {
		t.Errorf("escaped key: %q", v)
	}
	for _, bad := range []string{`{"a":1`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `{"a":"x}`, `{]`, `{"a":tru}`, "\"a\nb\"", `{"a":1} x`} {
		if _, err := trimValue([]byte(bad)); err == nil {
			if err := objectEach([]byte(bad), func(k, v []byte) error { return nil }); err == nil {
				t.Errorf("%q accepted", bad)
			}
		}
	}
	if _, ok := strOK([]byte(`"bad \q escape"`)); ok {
		t.Error("bad escape accepted")
	}
}
