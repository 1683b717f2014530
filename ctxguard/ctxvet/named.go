package ctxvet

import "go/types"

// isNamedType reports whether t is the named type path.name.
func isNamedType(t types.Type, path, name string) bool {
	named, ok := types.Unalias(t).(*types.Named)
	return ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == path && named.Obj().Name() == name
}

// isPointerTo reports whether t is *path.name.
func isPointerTo(t types.Type, path, name string) bool {
	ptr, ok := types.Unalias(t).(*types.Pointer)
	return ok && isNamedType(ptr.Elem(), path, name)
}

// hasMethods reports whether t (or *t) has all the named methods.
func hasMethods(t types.Type, names ...string) bool {
	if t == nil {
		return false
	}
	for _, name := range names {
		obj, _, _ := types.LookupFieldOrMethod(t, true, nil, name)
		if _, ok := obj.(*types.Func); !ok {
			return false
		}
	}
	return true
}

// isNamedOrPointer reports whether t is path.name or *path.name.
func isNamedOrPointer(t types.Type, path, name string) bool {
	return isNamedType(t, path, name) || isPointerTo(t, path, name)
}
