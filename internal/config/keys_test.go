package config

import (
	"reflect"
	"testing"
)

// TestFieldNamesAreUnique: error messages find the variable by field name,
// so two groups must not reuse one.
func TestFieldNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	var walk func(reflect.Type, string)
	walk = func(tp reflect.Type, path string) {
		for i := 0; i < tp.NumField(); i++ {
			f := tp.Field(i)
			if _, tagged := f.Tag.Lookup("env"); !tagged && f.Type.Kind() == reflect.Struct {
				walk(f.Type, path+f.Name+".")
				continue
			}
			if other, dup := seen[f.Name]; dup {
				t.Errorf("field name %s is used by %s and %s", f.Name, other, path+f.Name)
			}
			seen[f.Name] = path + f.Name
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	if len(newVariables().keys) < 40 {
		t.Fatalf("newVariables found too few variables")
	}
}
