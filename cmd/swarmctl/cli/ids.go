package cli

// ShortIDLength is how much of an ID tables show, as docker does.
const ShortIDLength = 12

// ShortID cuts id to ShortIDLength characters.
func ShortID(id string) string {
	if len(id) > ShortIDLength {
		return id[:ShortIDLength]
	}
	return id
}
