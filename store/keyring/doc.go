// Package keyring is connkit's default [store.Sealer]: it seals secret values
// with AES-256-GCM under a set of keys, one primary key that seals and any
// number of older keys that only open, so keys can be rotated without
// downtime.
//
// # Keys
//
// A [Key] is 32 bytes of key material and a key id, a uint32 chosen by the
// operator. Ids only need to be unique within a keyring; a counter (1, 2, 3,
// ...) or a date (20260115) both work and make the newest key easy to spot.
// Load keys from configuration with [ParseKey] (base64, as printed by
// `openssl rand -base64 32`) or make one with [GenerateKey]. A Key never
// prints its material: fmt (every verb), log/slog and go-cmp show a redaction
// marker, also when the Key sits in an unexported struct field where they
// print by reflection. Compare keys with [Key.Equal].
//
// # Envelopes
//
// [Keyring.Seal] returns a self-describing envelope: a version byte, the
// primary key's id, a fresh 12-byte random nonce and the GCM ciphertext with
// its tag; 33 bytes of overhead in all. [Keyring.Open] picks the key named in
// the envelope, so values sealed under any key still in the ring open. The
// associated data, normally [store.AssociatedData], binds a value to the
// connection and field it belongs to: an envelope copied elsewhere does not
// open.
//
// Errors from Open wrap [store.ErrSealed] and one of [ErrUnknownKey],
// [ErrMalformed] or [ErrAuthentication]; they say what is wrong in terms of
// key ids, lengths and versions, never with plaintext or key bytes. Open never
// panics, whatever its input.
//
// # Rotation
//
// To rotate:
//
//  1. Make a new key and [Keyring.Rotate] to it. The old primary stays in the
//     ring as a decrypt-only key, so everything sealed so far still opens.
//  2. Walk the stored values; for every envelope where [Keyring.NeedsReseal]
//     is true, [Keyring.Reseal] it and write the result back.
//  3. [Keyring.Retire] the old key. From then on an envelope that was missed in
//     step 2 fails to open with an error wrapping [ErrUnknownKey] that names
//     the retired key id.
//
// With several host replicas sharing one store, first give the new key to
// every replica as a decrypt-only key ([Keyring.Add], or the older keys of
// [New] at the next restart), and only then make it primary everywhere
// ([Keyring.Rotate] with the same key promotes it). Otherwise a replica that
// has not heard of the new key yet cannot open what the others seal.
//
// # Limits: rotate before 2^32 seals per key
//
// Every envelope gets a fresh 96-bit random nonce. NIST SP 800-38D (section
// 8.3) allows at most 2^32 GCM encryptions with random nonces under one key:
// beyond that the chance that two envelopes share a nonce exceeds 2^-32, and
// one repeated nonce reveals the XOR of two plaintexts and lets whoever holds
// both envelopes forge authentication tags for that key. The budget counts
// seals, not bytes, across every replica that shares the key, Reseal
// included. connkit seals once per token refresh and up to three times per
// CONNECT (the state, the PKCE verifier and the token set), plus once per
// secret value a host, a template or [store.Rewrap] writes.
//
// Rotate ([Keyring.Rotate] to a new key, then [store.Rewrap] to re-seal the
// stored values and [Keyring.Retire] the old key) before a key has made half
// its budget, 2^31 seals:
//
//	days between rotations <= 2^31 / (seals per day, all replicas)
//
// 1,000,000 connections refreshing hourly seal about 24 million times a day:
// rotate at least every 89 days. 10,000 such connections would need a
// rotation only every ~24 years by this measure, so rotate on your ordinary
// schedule (yearly, or when someone who held the key leaves). [Keyring.Seals] counts
// the seals a Keyring made under its current primary key, so each replica can
// export it and an alert can fire on the sum.
//
// A Keyring is safe for concurrent use. Seal, Open and NeedsReseal read an
// immutable key set through an atomic pointer, without locks; Rotate, Add and
// Retire build a new set and swap it in, so they can run while traffic flows.
package keyring
