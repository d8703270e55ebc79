package provider

// Lister is implemented by sources that can enumerate what they hold, so that
// a command such as export-secret --all can ask for every credential without
// guessing images. Sources that can only be asked about one image at a time
// (a credential helper without a list command) simply do not implement it.
type Lister interface {
	// Keys returns the keys the source holds a usable credential under,
	// normalized as Credential.Key is, sorted and without duplicates. An
	// error means the source could not be read completely; keys returned
	// alongside it are still valid. Errors never contain secrets.
	Keys() ([]string, error)
}
