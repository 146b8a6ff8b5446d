package peer

import (
	"context"
	"net/http"
	"net/url"
)

// PathRelayPrefix + <source> + "/purge" is a worker's route that purges the relay log it
// pulls for the source (DM's purge-relay): POST RelayPurgeRequest → RelayPurgeResult.
const PathRelayPrefix = "/internal/v1/relays/"

// RelayPurgeRequest asks for the removal of the relay files before RelayBinlogName:
// restapi.PurgeRelayRequest.
type RelayPurgeRequest struct {
	RelayBinlogName string `json:"relay_binlog_name"`
	// RelayDir, when given, must name the worker's relay directory of the source (its path,
	// or its last element, DM's sub-dir): a check that the purge is aimed where meant.
	RelayDir string `json:"relay_dir,omitempty"`
}

// RelayPurgeResult is what one worker's purge did.
type RelayPurgeResult struct {
	WorkerName  string   `json:"worker_name"`
	RelayDir    string   `json:"relay_dir"`
	PurgedFiles []string `json:"purged_files"`
	// KeptFrom is the first relay file kept: it and the later ones stay.
	KeptFrom string `json:"kept_from"`
	// Msg says why the purge stopped before the file asked for ("" when it did not).
	Msg string `json:"msg"`
}

// PurgeRelay asks the worker at addr to purge its relay log of source.
func (c *Client) PurgeRelay(ctx context.Context, addr, source string, req RelayPurgeRequest) (RelayPurgeResult, error) {
	var out RelayPurgeResult
	path := PathRelayPrefix + url.PathEscape(source) + "/purge"
	payload, err := jsonBody(path, req)
	if err != nil {
		return out, err
	}
	err = c.once(ctx, http.MethodPost, c.scheme+"://"+addr+path, payload, &out)
	return out, err
}
