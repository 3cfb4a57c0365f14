package service

import (
	"errors"
	"strings"
)

// commandValue is --args: a command line split into words as a POSIX
// shell would, quotes and backslashes included (docker's shlex).
type commandValue struct{ words *[]string }

func (v commandValue) Set(s string) error {
	words, err := shellWords(s)
	if err != nil {
		return err
	}
	*v.words = words
	return nil
}

func (v commandValue) String() string { return "" }
func (v commandValue) Type() string   { return "command" }

// shellWords splits s into words: blanks separate words, 'single quotes'
// keep everything, "double quotes" keep everything but \" and \\, and a
// backslash elsewhere keeps the next character.
func shellWords(s string) ([]string, error) {
	var (
		words   []string
		word    strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && r != '"' && r != '\\' {
				word.WriteRune('\\')
			}
			word.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, errors.New("invalid command line: unterminated quote or escape")
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}
