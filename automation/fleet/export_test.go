package fleet

import "context"

// RecordsFromCLIForTest reads the records through the CLI, as Records does for backends whose
// storage it cannot read directly.
func (f *Fleet) RecordsFromCLIForTest(ctx context.Context, names []string) (map[string]Recorded, error) {
	return f.recordsFromCLI(ctx, names)
}
