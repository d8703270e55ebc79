package provider

import (
	"fmt"

	"github.com/node-credential-provider/node-credential-provider/internal/shorten"
)

// CheckHelperName checks the name of a docker credential helper, wherever
// it is written (our configuration, a docker config's credsStore or
// credHelpers, a podman auth.json): NAME runs docker-credential-NAME found
// in PATH, so a name is [A-Za-z0-9][A-Za-z0-9._-]* and never a path. Every
// helper docker and the containers tools ship (desktop, ecr-login, gcloud,
// osxkeychain, pass, secretservice, wincred, ...) fits.
func CheckHelperName(name string) error {
	ok := name != ""
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		ok = alnum || i > 0 && (c == '.' || c == '_' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%s is not a helper name (the NAME of docker-credential-NAME: letters, digits, '.', '_', '-'; no path separator, space or control character)", shorten.Quote(name))
	}
	return nil
}
