package restapi

import "context"

// Backend is what the master provides to the API handlers. Every method is called on
// the leader only (ForwardToLeader runs first), except Leader itself.
type Backend interface {
	// Leader waits (up to the ctx deadline) for a known leader and says whether it is this master.
	// It returns ErrNoLeader (possibly wrapped) when there is none.
	Leader(ctx context.Context) (Leader, error)
	// ListMasters returns every master member, sorted by name.
	ListMasters(ctx context.Context) ([]ClusterMaster, error)
	// OfflineMaster removes the named master from the cluster.
	OfflineMaster(ctx context.Context, name string) error
	// ListWorkers returns every registered worker, sorted by name.
	ListWorkers(ctx context.Context) ([]ClusterWorker, error)
	// OfflineWorker forgets the named worker, which must be offline.
	OfflineWorker(ctx context.Context, name string) error

	SourceBackend
}

// SourceBackend serves the data-source routes.
type SourceBackend interface {
	// CreateSource checks the upstream and stores the source; it returns the source as
	// stored, password masked.
	CreateSource(ctx context.Context, src Source) (Source, error)
	// ListSources returns every source sorted by name, masked; withStatus adds status_list.
	ListSources(ctx context.Context, withStatus bool) ([]Source, error)
	// DeleteSource removes a source; force first stops its subtasks.
	DeleteSource(ctx context.Context, name string, force bool) error
	// SourceStatus reports one entry per worker serving the source.
	SourceStatus(ctx context.Context, name string) ([]SourceStatus, error)
	// TransferSource binds the source to another worker.
	TransferSource(ctx context.Context, name, worker string) error
	// SourceSchemas lists the upstream's user schemas.
	SourceSchemas(ctx context.Context, name string) ([]string, error)
	// SourceTables lists the tables of one upstream schema.
	SourceTables(ctx context.Context, name, schema string) ([]string, error)
}

// Leader identifies the current leader master.
type Leader struct {
	// Name is the leader's member name.
	Name string
	// APIAddr is the leader's advertised API address, host:port.
	APIAddr string
	// Self is true when the leader is the master that was asked.
	Self bool
}
