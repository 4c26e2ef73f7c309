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
// prints its material: fmt, %#v and log/slog show a redaction marker.
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
// A Keyring is safe for concurrent use. Seal, Open and NeedsReseal read an
// immutable key set through an atomic pointer, without locks; Rotate, Add and
// Retire build a new set and swap it in, so they can run while traffic flows.
package keyring
