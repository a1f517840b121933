package config

import (
	"encoding/json"
	"fmt"
)

func fmtAll(s Secret) string {
	j, _ := json.Marshal(struct{ S Secret }{s})
	return fmt.Sprintf("%s %v %+v %#v %q %x %d", s, s, s, s, s, s, s) + string(j)
}
