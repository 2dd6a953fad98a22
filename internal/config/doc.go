// Package config turns DECNET's INI deployment file and the `decnet deploy` flags into a
// validated fleet.Fleet (the desired state the engine applies). It owns the INI reader,
// the meaning of every section and key (compatible with DECNET's ini_loader.py), the
// precedence between flags, the file and the machine's network, and every config-time
// check: names, addresses, services, port clashes and persona keys. Errors carry the
// file and line (or the flag) they come from. Building is pure apart from the probes the
// caller passes in Env, so the same inputs always give the same fleet.
//
// docs/config.md is the user reference for the format.
package config
