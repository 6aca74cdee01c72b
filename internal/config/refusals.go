package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// refusals collects what is wrong with the settings, in the order checked.
type refusals struct {
	vars variables
	errs []error
}

// check refuses variable, in words of its own, unless ok.
func (r *refusals) check(ok bool, variable, format string, args ...any) {
	if !ok {
		r.errs = append(r.errs, fmt.Errorf("%s: %s", variable, fmt.Sprintf(format, args...)))
	}
}

// want refuses the variable's value, quoting it, in the words of its want
// tag or type, unless ok.
func (r *refusals) want(ok bool, variable string) {
	if !ok {
		r.errs = append(r.errs, r.vars.refuse(variable))
	}
}

// wantf refuses the variable's value, quoting it, in words of its own,
// unless ok.
func (r *refusals) wantf(ok bool, variable, format string, args ...any) {
	if !ok {
		r.errs = append(r.errs, r.vars.refuseWith(variable, fmt.Sprintf(format, args...)))
	}
}

func (r *refusals) err() error { return errors.Join(r.errs...) }

// What durations, switches and rates accept, as refusals say it.
const (
	wantSeconds = "seconds (a number) or a Go duration such as 90s, above 0"
	wantMinutes = "minutes (a number) or a Go duration such as 10m, above 0"
	wantBool    = "true or false"
	wantRate    = `a budget such as "100 per second": a whole number above 0 per second, minute, hour or day`
	wantLevel   = "debug, info, warn or error"
)

// variables knows, for every setting, its variable name, what it accepts
// and the value it was given, so that a refusal can say all three.
type variables struct {
	// keys maps struct field names to variable names, as the env library's
	// errors name only the field. Field names are unique across groups (a
	// test checks).
	keys map[string]string
	// wants maps variable names to what they accept; plain text has none.
	wants map[string]string
	// raw maps variable names to the values read, defaults included.
	raw map[string]string
}

func newVariables() variables { return variablesOf(reflect.TypeOf(Config{})) }

// variablesOf knows the variables of the settings struct t.
func variablesOf(t reflect.Type) variables {
	v := variables{keys: map[string]string{}, wants: map[string]string{}, raw: map[string]string{}}
	v.walk(t)
	return v
}

// walk records the fields of t, descending into nested groups.
func (v variables) walk(t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, tagged := f.Tag.Lookup("env"); !tagged && f.Type.Kind() == reflect.Struct {
			v.walk(f.Type)
			continue
		}
		k, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if k == "" || k == "-" {
			continue
		}
		v.keys[f.Name] = k
		if w := wanted(f); w != "" {
			v.wants[k] = w
		}
	}
}

// wanted says what the field accepts: its want tag, else what its type
// reads.
func wanted(f reflect.StructField) string {
	if w := f.Tag.Get("want"); w != "" {
		return w
	}
	switch f.Type {
	case reflect.TypeFor[Seconds]():
		return wantSeconds
	case reflect.TypeFor[Minutes]():
		return wantMinutes
	case reflect.TypeFor[RateLimit]():
		return wantRate
	case reflect.TypeFor[LogLevel]():
		return wantLevel
	case reflect.TypeFor[bool]():
		return wantBool
	}
	return ""
}

// refuse is the error for a variable whose value is unreadable or out of
// range: the variable, its value and what it accepts.
func (v variables) refuse(key string) error { return v.refuseWith(key, v.wants[key]) }

func (v variables) refuseWith(key, want string) error {
	return fmt.Errorf("%s=%q: want %s", key, v.raw[key], want)
}

// explain rewrites the env library's errors, which name Go struct fields
// and speak of strconv, so that they name the environment variable an
// operator has to fix, its value and what it accepts.
func (v variables) explain(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			key := v.keys[pe.Name]
			switch {
			case v.wants[key] != "":
				out = append(out, v.refuse(key))
			case key != "":
				out = append(out, fmt.Errorf("%s: %v", key, pe.Err))
			default:
				out = append(out, fmt.Errorf("%s: %v", pe.Name, pe.Err))
			}
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}
