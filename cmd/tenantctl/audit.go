package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

func init() { register(newAuditCmd) }

type auditOptions struct {
	*globalOptions
	logPath string
}

func newAuditCmd(g *globalOptions) *cobra.Command {
	o := &auditOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and query the tamper-evident audit log",
		Long: "Every mutating operation appends a hash-chained record to the audit log " +
			"($XDG_STATE_HOME/tenantctl/audit.jsonl unless --audit-log says otherwise). " +
			"verify proves the file was not edited, cut or reordered; query reads it back.",
	}
	cmd.PersistentFlags().StringVar(&o.logPath, "audit-log", "", "audit log file (default $XDG_STATE_HOME/tenantctl/audit.jsonl)")
	cmd.AddCommand(newAuditVerifyCmd(o), newAuditQueryCmd(o), newAuditHeadCmd(o))
	return cmd
}

// path picks the log: an explicit argument, then --audit-log, then the default location.
func (o *auditOptions) path(explicit string) (string, error) {
	switch {
	case explicit != "":
		return explicit, nil
	case o.logPath != "":
		return o.logPath, nil
	}
	p, err := audit.DefaultPath()
	if err != nil {
		return "", exitcode.With(exitcode.Invalid, err)
	}
	return p, nil
}

func (o *auditOptions) format() (string, error) {
	switch o.output {
	case "text", "json":
		return o.output, nil
	}
	return "", exitcode.With(exitcode.Invalid, fmt.Errorf("output %q: audit commands write text or json", o.output))
}

func newAuditVerifyCmd(o *auditOptions) *cobra.Command {
	var a anchorFlags
	cmd := &cobra.Command{
		Use:   "verify [FILE]",
		Short: "Check every record's hash, signature, the sequence and the chain against the anchor; name the first bad record",
		Long: "verify exits 0 when the log is intact, 2 when it names the first edited, forged, unsigned, dropped, " +
			"reordered or malformed record (a finding, like drift), 1 when the anchor is missing or not authentic (the log " +
			"cannot be proven complete), and 3 when the file cannot be read.\n\n" +
			"A chain alone cannot show that records were cut from its end, so verify requires an anchor: the signed " +
			"checkpoints FILE.head and DATA_DIR/audit-checkpoints/<log>.checkpoint (the latest one that exists), --checkpoint FILE, or " +
			"--expect-head SEQ:HASH. --no-anchor says explicitly that none exists. Signatures are checked with the " +
			"public keys of --public-key (default: the signing key's FILE.pub).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := o.format()
			if err != nil {
				return err
			}
			path, err := o.path(auditFirstArg(args))
			if err != nil {
				return err
			}
			if _, err := os.Stat(path); err != nil {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("verify audit log: %w", err))
			}
			opts, anchor, err := a.options(path)
			if err != nil {
				return err
			}
			res, err := audit.VerifyFile(cmd.Context(), path, opts)
			if err != nil {
				return exitcode.With(exitcode.Invalid, err)
			}
			if format == "json" {
				if err := writeDocument(cmd.OutOrStdout(), kindAuditVerification, res); err != nil {
					return err
				}
			}
			if bad := res.FirstBad; bad != nil {
				if res.Records == 0 && bad.Line == 1 && bad.Problem == audit.ProblemMalformed {
					return exitcode.With(exitcode.Invalid, fmt.Errorf("%s is not an audit log: %s", path, auditPrintable(bad.String())))
				}
				return exitcode.With(exitcode.Findings, fmt.Errorf("audit log %s is broken at %s (intact before it: %d records)",
					path, auditPrintable(bad.String()), res.Records))
			}
			if format == "text" {
				fmt.Fprintf(cmd.OutOrStdout(), "audit log %s: OK, %d records, head %s%s\n", path, res.Records, res.Head, anchor)
			}
			return nil
		},
	}
	a.add(cmd)
	return cmd
}

// anchorFlags choose what `audit verify` checks the log against.
type anchorFlags struct {
	expectHead  string
	checkpoints []string
	publicKeys  []string
	noAnchor    bool
}

func (a *anchorFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&a.expectHead, "expect-head", "", "anchor: SEQ:HASH (or HASH) of a record the log must still contain")
	fs.StringSliceVar(&a.checkpoints, "checkpoint", nil, "checkpoint file(s) written by the log (default FILE.head and DATA_DIR/audit-checkpoints/<log>.checkpoint)")
	fs.StringSliceVar(&a.checkpoints, "head-file", nil, "same as --checkpoint")
	fs.StringSliceVar(&a.publicKeys, "public-key", nil, "trusted public key file(s) of the audit signing key, current and rotated (default: the signing key's .pub)")
	fs.BoolVar(&a.noAnchor, "no-anchor", false, "verify without an anchor (records cut from the end of the log go unnoticed)")
	_ = fs.MarkHidden("head-file")
}

// options builds the verify options: trusted keys, and the anchor from --expect-head, the
// checkpoint files, or nothing when --no-anchor says so. It describes the anchor for the success
// message.
func (a *anchorFlags) options(path string) (audit.VerifyOptions, string, error) {
	var opts audit.VerifyOptions
	keys, err := a.keyring()
	if err != nil {
		return opts, "", err
	}
	opts.Keys = keys
	switch {
	case a.expectHead != "" && len(a.checkpoints) > 0:
		return opts, "", exitcode.With(exitcode.Invalid, errors.New("use either --expect-head or --checkpoint"))
	case a.noAnchor && (a.expectHead != "" || len(a.checkpoints) > 0):
		return opts, "", exitcode.With(exitcode.Invalid, errors.New("--no-anchor contradicts --expect-head and --checkpoint"))
	case a.noAnchor:
		return opts, " (no anchor, as --no-anchor says: records cut from the end would not show)", nil
	case a.expectHead != "":
		h, err := audit.ParseHead(a.expectHead)
		if err != nil {
			return opts, "", exitcode.With(exitcode.Invalid, err)
		}
		opts.ExpectHead = &h
		return opts, fmt.Sprintf(" (contains the expected head %s)", h), nil
	}
	files := a.checkpoints
	if len(files) == 0 {
		files = []string{audit.HeadPath(path), audit.CheckpointCopyPath(automation.DefaultDataDir(), path)}
	}
	cp, from, found, err := audit.LatestCheckpoint(keys, files...)
	if err != nil {
		if len(a.checkpoints) > 0 && errors.Is(err, os.ErrNotExist) {
			return opts, "", exitcode.With(exitcode.Invalid, err)
		}
		return opts, "", exitcode.With(exitcode.Failed, fmt.Errorf("audit log %s: anchor: %w", path, err))
	}
	if !found {
		if len(a.checkpoints) > 0 {
			return opts, "", exitcode.With(exitcode.Invalid, fmt.Errorf("checkpoint: none of %s exists", strings.Join(files, ", ")))
		}
		return opts, "", exitcode.With(exitcode.Failed, fmt.Errorf("audit log %s: no anchor: none of %s exists, so records cut from the end "+
			"or a replaced log could not be detected; pass --checkpoint or --expect-head, or --no-anchor if this log never had one",
			path, strings.Join(files, ", ")))
	}
	opts.Checkpoint = &cp
	kind := "head"
	if cp.Signed() {
		kind = "signed checkpoint"
	}
	return opts, fmt.Sprintf(" (contains the %s recorded in %s)", kind, from), nil
}

// keyring loads the trusted public keys: the flags, or the default signing key's .pub when it
// exists.
func (a *anchorFlags) keyring() (audit.Keyring, error) {
	files := a.publicKeys
	if len(files) == 0 {
		def, err := audit.DefaultSigningKeyPath()
		if err != nil {
			return nil, exitcode.With(exitcode.Invalid, err)
		}
		if _, err := os.Stat(def + ".pub"); err != nil {
			return audit.Keyring{}, nil
		}
		files = []string{def + ".pub"}
	}
	keys, err := audit.LoadPublicKeys(files...)
	if err != nil {
		return nil, exitcode.With(exitcode.Invalid, err)
	}
	return keys, nil
}

func newAuditHeadCmd(o *auditOptions) *cobra.Command {
	var a anchorFlags
	cmd := &cobra.Command{
		Use:   "head [FILE]",
		Short: "Verify the log and print its head (SEQ:HASH) to keep as an anchor elsewhere",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := o.path(auditFirstArg(args))
			if err != nil {
				return err
			}
			keys, err := a.keyring()
			if err != nil {
				return err
			}
			res, err := audit.VerifyFile(cmd.Context(), path, audit.VerifyOptions{Keys: keys})
			if err != nil {
				return exitcode.With(exitcode.Invalid, err)
			}
			if res.FirstBad != nil {
				return exitcode.With(exitcode.Findings, fmt.Errorf("audit log %s is broken at %s", path, auditPrintable(res.FirstBad.String())))
			}
			if o.output == "json" {
				return writeDocument(cmd.OutOrStdout(), kindAuditHead, res.Head)
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Head)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&a.publicKeys, "public-key", nil, "trusted public key file(s) of the audit signing key (default: the signing key's .pub)")
	return cmd
}

func newAuditQueryCmd(o *auditOptions) *cobra.Command {
	var (
		file, tenant, typ, traceID, since, until string
		limit                                    int
		afterSeq                                 uint64
	)
	cmd := &cobra.Command{
		Use:   "query",
		Short: "List audit records by tenant, type, trace id and time range",
		Example: "  tenantctl audit query --tenant acme --since 24h\n" +
			"  tenantctl audit query --trace-id 4bf92f3577b34da6a3ce929d0e0e4736 -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := o.format()
			if err != nil {
				return err
			}
			path, err := o.path(file)
			if err != nil {
				return err
			}
			f := audit.Filter{TenantID: tenant, Type: audit.Type(typ), TraceID: traceID, Limit: limit, AfterSeq: afterSeq}
			if traceID != "" && !audit.ValidTraceID(traceID) {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("--trace-id %q: want 32 lowercase hex digits", traceID))
			}
			now := time.Now()
			if f.Since, err = auditParseWhen("since", since, now); err != nil {
				return err
			}
			if f.Until, err = auditParseWhen("until", until, now); err != nil {
				return err
			}
			recs, err := audit.QueryFile(cmd.Context(), path, f)
			if errors.Is(err, os.ErrNotExist) {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("no audit log at %s", path))
			}
			if err != nil {
				return exitcode.With(exitcode.Invalid, err)
			}
			if format == "json" {
				if recs == nil {
					recs = []audit.Record{}
				}
				return writeDocument(cmd.OutOrStdout(), kindAuditRecords, struct {
					Items []audit.Record `json:"items"`
				}{recs})
			}
			return writeAuditRecordTable(cmd.OutOrStdout(), recs)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&file, "file", "", "audit log to read (default --audit-log)")
	fl.StringVar(&tenant, "tenant", "", "only this tenant id")
	fl.StringVar(&typ, "type", "", "only this event type, e.g. tenant.provision or policy.decision")
	fl.StringVar(&traceID, "trace-id", "", "only this W3C trace id")
	fl.StringVar(&since, "since", "", "from this time on: RFC 3339, or a duration ago such as 24h")
	fl.StringVar(&until, "until", "", "before this time: RFC 3339, or a duration ago")
	fl.IntVar(&limit, "limit", 0, "at most this many records (0: all)")
	fl.Uint64Var(&afterSeq, "after-seq", 0, "only records after this seq (paging)")
	return cmd
}

// auditParseWhen reads an RFC 3339 time or a duration before now.
func auditParseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, exitcode.With(exitcode.Invalid, fmt.Errorf("--%s %q: want an RFC 3339 time or a duration such as 24h", flag, v))
}

func writeAuditRecordTable(w io.Writer, recs []audit.Record) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tTYPE\tTENANT\tENV\tOUTCOME\tPRINCIPAL\tTRACE ID\tREASON")
	for _, r := range recs {
		reason := r.Reason
		if r.Error != "" {
			reason = r.Error
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.UTC().Format(time.RFC3339),
			auditPrintable(string(r.Type)), auditPrintable(r.TenantID), auditPrintable(r.Environment), auditPrintable(string(r.Outcome)),
			auditPrintable(r.Principal), auditPrintable(r.TraceID), auditPrintable(reason))
	}
	return tw.Flush()
}

// auditPrintable keeps a tampered log from sending terminal escape sequences through our output.
func auditPrintable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func auditFirstArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return ""
}
