package config

import (
	"reflect"
	"sort"
)

// TypedVariables lists the variables read as something other than text: the
// numbers, switches, rates, durations and the log level, whose refusals
// quote the value and say what is wanted.
func TypedVariables() []string {
	var out []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key, tagged := f.Tag.Lookup("env")
			if !tagged && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if k := f.Type.Kind(); k != reflect.String && k != reflect.Slice {
				out = append(out, key)
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
	sort.Strings(out)
	return out
}
