package security

import "fmt"

// Identity is who an internal request comes from, as Authenticate established it.
type Identity struct {
	// Name is the member name the caller gave. It is proven (by the signature) only when Signed:
	// every holder of the secret key can sign under any name, so it tells members apart but
	// does not stop one that is malicious.
	Name   string
	Signed bool
	// CN is the Common Name of the caller's verified certificate in TLS mode: with a
	// certificate per member whose CN is the member's name, it is proven per member.
	CN string
}

func (id Identity) String() string {
	switch {
	case id.CN != "" && id.Signed:
		return fmt.Sprintf("member %q (certificate %q)", id.Name, id.CN)
	case id.CN != "":
		return fmt.Sprintf("certificate %q", id.CN)
	case id.Signed:
		return fmt.Sprintf("member %q", id.Name)
	}
	return fmt.Sprintf("unauthenticated caller %q (open cluster)", id.Name)
}

// MayActAs reports whether the caller may write the record of member name (its own
// registration, its own loads, its own desired state). A signed caller must have signed as
// name. A certificate must be name's, unless its CN names no member at all (memberNamed says
// whether it does): that is a certificate the members share, which identifies the cluster,
// not one member. In an open cluster anyone may. Refusals wrap ErrForbidden.
func (id Identity) MayActAs(name string, memberNamed func(string) bool) error {
	if id.Signed && id.Name != name {
		return fmt.Errorf("%w: %s may not act as %q", ErrForbidden, id, name)
	}
	if id.CN != "" && id.CN != name && memberNamed(id.CN) {
		return fmt.Errorf("%w: the certificate of member %q may not act as %q", ErrForbidden, id.CN, name)
	}
	return nil
}
