package grpcserver

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// nulField returns the path of the first string in m, at any depth (in
// lists, map keys and values too), that holds a NUL character, "" when
// none does. Protobuf strings are UTF-8, so NUL is the one character
// PostgreSQL's text refuses: found here, it is a 400 naming the field
// instead of a 500 from the database. Paths read like protovalidate's:
// customer.name, tags[2], labels["k"].
func nulField(m protoreflect.Message) string {
	var found string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				if found = nulValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", name, i)); found != "" {
					break
				}
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := k.String()
				path := fmt.Sprintf("%s[%q]", name, key)
				if strings.ContainsRune(key, 0) {
					found = path
				} else {
					found = nulValue(fd.MapValue(), mv, path)
				}
				return found == ""
			})
		default:
			found = nulValue(fd, v, name)
		}
		return found == ""
	})
	return found
}

// nulValue checks one value of fd's kind at path.
func nulValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.ContainsRune(v.String(), 0) {
			return path
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if f := nulField(v.Message()); f != "" {
			return path + "." + f
		}
	}
	return ""
}
