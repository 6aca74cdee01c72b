package config

import (
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestEveryVariableIsDocumented: the README's configuration table names
// every variable the service and participantctl read, so that an operator
// finds each one there.
func TestEveryVariableIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	if i := strings.Index(table, "\n## "); i >= 0 {
		table = table[:i]
	}
	keys := variablesOf(reflect.TypeOf(Config{})).keys
	for _, k := range variablesOf(reflect.TypeOf(Ctl{})).keys {
		keys["Ctl."+k] = k
	}
	var names []string
	for _, k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.Contains(table, "`"+name+"`") {
			t.Errorf("%s is not in the README's Configuration section", name)
		}
	}
}
