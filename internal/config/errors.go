package config

import (
	"fmt"
	"strconv"
)

// Error is a configuration problem with where it comes from: a file and line, a file
// alone (Line 0), or a command-line flag (File "", Flag set, without the leading "--").
type Error struct {
	File string
	Line int
	Flag string
	Msg  string
	Err  error // the underlying error, if any (e.g. a *service.KeyError)
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
	case e.File != "":
		return e.File + ": " + e.Msg
	case e.Flag != "":
		return "--" + e.Flag + ": " + e.Msg
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func lineErr(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func flagErr(flag string, format string, args ...any) *Error {
	return &Error{Flag: flag, Msg: fmt.Sprintf(format, args...)}
}
