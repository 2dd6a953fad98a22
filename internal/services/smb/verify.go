package smb

import "decnet/internal/services/ntlmssp"

// VerifyHash reports whether a captured hashcat line (mode 5600 NetNTLMv2 or 5500
// NetNTLMv1) is the response password produces; see ntlmssp.VerifyHash.
func VerifyHash(line, password string) bool { return ntlmssp.VerifyHash(line, password) }
