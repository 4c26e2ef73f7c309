package store

// The mocks in store/storemock are generated from the interfaces of this
// package; `go generate ./store/...` regenerates them with the mockgen version
// pinned in go.mod.
//go:generate go run go.uber.org/mock/mockgen -destination=storemock/storemock.go -package=storemock -write_package_comment=false -typed github.com/connkit/connkit/store Store,Connections,Instances,Templates,Pending,Logs,Leases,Sealer,Resealer
