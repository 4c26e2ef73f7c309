package template

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/connkit/connkit/connection"
)

// The YAML form of an integration. Struct fields are written in declaration
// order and map keys sorted, so the encoding is deterministic.
type yamlIntegration struct {
	ID        string         `yaml:"id"`
	Name      string         `yaml:"name,omitempty"`
	Version   int            `yaml:"version"`
	Variables []yamlVariable `yaml:"variables,omitempty"`
}

type yamlVariable struct {
	Key             string                           `yaml:"key"`
	Level           connection.Level                 `yaml:"level,omitempty"`
	Template        string                           `yaml:"template,omitempty"`
	SuccessRedirect string                           `yaml:"successRedirect,omitempty"`
	FailureRedirect string                           `yaml:"failureRedirect,omitempty"`
	Visibility      map[string]connection.Visibility `yaml:"visibility,omitempty"`
	Defaults        map[string]string                `yaml:"defaults,omitempty"`
	Type            connection.Type                  `yaml:"type"`
}

var yamlEncodeOptions = []yaml.EncodeOption{
	yaml.Indent(2),
	yaml.IndentSequence(true),
	yaml.UseLiteralStyleIfMultiline(true),
}

// ExportYAML encodes an integration's connection config variables as YAML
// for source control. Each variable is written with its full (declared) type,
// level, template reference (never the template's values), redirects,
// visibilities and non-secret defaults. No secret value is ever written: a
// variable default or type default of a secret field is left out, so it must
// be set again after import (a host keeps secrets in its own configuration).
//
// The integration is checked as [Manager.Register] checks it first; an
// invalid one is a *[connection.ValidationError]. The output is
// deterministic: ImportYAML followed by ExportYAML gives the same bytes.
func ExportYAML(in Integration) ([]byte, error) {
	c, err := declareIntegration(in)
	if err != nil {
		return nil, err
	}
	doc := yamlIntegration{ID: c.ID, Name: c.Name, Version: c.Version}
	for _, v := range c.Variables {
		yv := yamlVariable{
			Key: v.Key, Level: v.Level, Template: v.Template,
			SuccessRedirect: v.SuccessRedirect, FailureRedirect: v.FailureRedirect,
			Type: v.Type.Clone(),
		}
		for i := range yv.Type.Fields {
			if yv.Type.Fields[i].IsSecret() {
				yv.Type.Fields[i].Default = ""
			}
		}
		for _, k := range slices.Sorted(maps.Keys(v.Visibility)) {
			if v.Visibility[k] == "" {
				continue
			}
			if yv.Visibility == nil {
				yv.Visibility = map[string]connection.Visibility{}
			}
			yv.Visibility[k] = v.Visibility[k]
		}
		for _, k := range v.Defaults.Keys() {
			f, _ := v.Type.Field(k)
			if d := v.Defaults.String(k); d != "" && !f.IsSecret() {
				if yv.Defaults == nil {
					yv.Defaults = map[string]string{}
				}
				yv.Defaults[k] = d
			}
		}
		doc.Variables = append(doc.Variables, yv)
	}
	b, err := yaml.MarshalWithOptions(doc, yamlEncodeOptions...)
	if err != nil {
		return nil, fmt.Errorf("template: encode integration %q as YAML: %w", c.ID, err)
	}
	return b, nil
}

// ImportProblem is one problem found in an integration's YAML.
type ImportProblem struct {
	// Line and Column locate the problem in the YAML (1-based): the node the
	// problem is about or, where that node is missing, its nearest present
	// parent.
	Line   int `json:"line"`
	Column int `json:"column"`
	// Path is the YAML path of the problem, such as
	// "variables[0].type.fields[2].rule".
	Path string `json:"path"`
	// Label is the field's label where the problem is about a field.
	Label string `json:"label,omitempty"`
	// Reason says what is wrong; it never includes a value.
	Reason string `json:"reason"`
}

// ImportError reports every problem [ImportYAML] found, ordered by line. It
// matches [connection.ErrInvalid] with errors.Is.
type ImportError struct {
	Problems []ImportProblem
}

// Error lists every problem with its YAML line and column.
func (e *ImportError) Error() string {
	var b strings.Builder
	b.WriteString("template: invalid integration YAML: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "line %d: ", p.Line)
		if p.Path != "" {
			b.WriteString(p.Path)
			if p.Label != "" {
				fmt.Fprintf(&b, " (%s)", p.Label)
			}
			b.WriteString(": ")
		}
		b.WriteString(p.Reason)
	}
	return b.String()
}

// Is makes errors.Is(err, connection.ErrInvalid) true.
func (e *ImportError) Is(target error) bool { return target == connection.ErrInvalid }

// ImportYAML decodes an integration written by [ExportYAML] (or by hand) and
// checks it as [Manager.Register] does. Every problem is reported at once,
// each with its line, in an *[ImportError]: YAML syntax (only the first,
// since parsing stops there), unknown keys, values of the wrong shape, secret
// values (a default of a secret field, which must never be kept in source
// control), and every problem of the integration's variables and types.
func ImportYAML(b []byte) (Integration, error) {
	imp := &importer{}
	file, err := parser.ParseBytes(b, 0)
	if err != nil {
		imp.fromYAMLError(err)
		return Integration{}, imp.err()
	}
	var body ast.Node
	for _, d := range file.Docs {
		switch {
		case d == nil || d.Body == nil:
		case body == nil:
			body = d.Body
		default:
			imp.addAt(d.Body, "", "only one YAML document is allowed")
		}
	}
	if body == nil {
		imp.problems = append(imp.problems, ImportProblem{Line: 1, Column: 1, Reason: "the YAML holds no integration"})
		return Integration{}, imp.err()
	}
	imp.root = body
	imp.checkShape(body, reflect.TypeFor[yamlIntegration](), "")
	if imp.misshapen {
		return Integration{}, imp.err()
	}
	var doc yamlIntegration
	if err := decode(body, &doc); err != nil {
		imp.fromYAMLError(err)
		return Integration{}, imp.err()
	}
	in := Integration{ID: doc.ID, Name: doc.Name, Version: doc.Version}
	for i, yv := range doc.Variables {
		v := connection.Variable{
			Key: yv.Key, Type: yv.Type, Visibility: yv.Visibility, Template: yv.Template,
			SuccessRedirect: yv.SuccessRedirect, FailureRedirect: yv.FailureRedirect, Level: yv.Level,
		}
		for _, k := range slices.Sorted(maps.Keys(yv.Defaults)) {
			v.Defaults.Set(k, yv.Defaults[k])
		}
		imp.secretDefaults(i, &yv)
		in.Variables = append(in.Variables, v)
	}
	c, err := declareIntegration(in)
	var ve *connection.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			imp.addPath(problemPath(&doc, p), p.Label, p.Reason)
		}
	} else if err != nil {
		return Integration{}, err
	}
	if len(imp.problems) > 0 {
		return Integration{}, imp.err()
	}
	return c, nil
}

// decode decodes n into doc. A panic of the YAML decoder (a bug it has on
// some malformed input) becomes an error: outside input must never crash the
// host.
func decode(n ast.Node, doc *yamlIntegration) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("the YAML could not be decoded")
		}
	}()
	return yaml.NodeToValue(n, doc)
}

// step is one step of a YAML path: a mapping key, or a sequence index when
// key is "".
type step struct {
	key   string
	index int
}

func pathString(steps []step) string {
	var b strings.Builder
	for _, s := range steps {
		if s.key == "" {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

type importer struct {
	root     ast.Node
	problems []ImportProblem
	// misshapen is set when a node has the wrong shape to decode.
	misshapen bool
}

func (imp *importer) err() error {
	if len(imp.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(imp.problems, func(a, b ImportProblem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return &ImportError{Problems: imp.problems}
}

// fromYAMLError records a goccy/go-yaml error by its position and message,
// never the source excerpt its Error method adds.
func (imp *importer) fromYAMLError(err error) {
	var ye yaml.Error
	p := ImportProblem{Line: 1, Column: 1, Reason: "not valid YAML"}
	if errors.As(err, &ye) {
		p.Reason = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Column = tk.Position.Line, tk.Position.Column
		}
	}
	imp.problems = append(imp.problems, p)
}

func (imp *importer) addAt(n ast.Node, path, reason string) {
	line, col := position(n)
	imp.problems = append(imp.problems, ImportProblem{Line: line, Column: col, Path: path, Reason: reason})
}

// addPath records a problem at the deepest node of steps present in the YAML.
func (imp *importer) addPath(steps []step, label, reason string) {
	n := imp.root
	at := n
	for _, s := range steps {
		n = child(n, s)
		if n == nil {
			break
		}
		at = n
	}
	line, col := position(at)
	imp.problems = append(imp.problems, ImportProblem{Line: line, Column: col, Path: pathString(steps), Label: label, Reason: reason})
}

// secretDefaults reports defaults of secret fields: a secret value must
// never be kept in the YAML.
func (imp *importer) secretDefaults(i int, yv *yamlVariable) {
	const reason = "a secret field's default must not be kept in YAML; set it through the host instead"
	base := []step{{key: "variables"}, {index: i}}
	for _, k := range slices.Sorted(maps.Keys(yv.Defaults)) {
		if f, ok := yv.Type.Field(k); ok && f.IsSecret() && yv.Defaults[k] != "" {
			imp.addPath(append(slices.Clone(base), step{key: "defaults"}, step{key: k}), f.Label, reason)
		}
	}
	for j, f := range yv.Type.Fields {
		if f.IsSecret() && f.Default != "" {
			imp.addPath(append(slices.Clone(base), step{key: "type"}, step{key: "fields"}, step{index: j}, step{key: "default"}), f.Label, reason)
		}
	}
}

// checkShape reports every mapping key the YAML form does not have and
// every node of the wrong shape (a list where a mapping belongs, ...), so
// that decoding only ever sees the shapes it expects.
func (imp *importer) checkShape(n ast.Node, t reflect.Type, path string) {
	n = unwrap(n)
	if n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if !isMapping(n) {
			imp.misshapen = true
			imp.addAt(n, path, "must be a mapping")
			return
		}
		fields := yamlFields(t)
		for _, kv := range mappingValues(n) {
			k := keyString(kv.Key)
			p := joinPath(path, k)
			ft, ok := fields[k]
			if !ok {
				imp.addAt(kv.Key, p, fmt.Sprintf("unknown key %q", k))
				continue
			}
			imp.checkShape(kv.Value, ft, p)
		}
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			imp.misshapen = true
			imp.addAt(n, path, "must be a list")
			return
		}
		for i, e := range seq.Values {
			imp.checkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if !isMapping(n) {
			imp.misshapen = true
			imp.addAt(n, path, "must be a mapping")
			return
		}
		for _, kv := range mappingValues(n) {
			imp.checkShape(kv.Value, t.Elem(), joinPath(path, keyString(kv.Key)))
		}
	default:
		switch n.(type) {
		case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
			imp.misshapen = true
			imp.addAt(n, path, "must be a single value")
		}
	}
}

func isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML names of a struct's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out[name] = f.Type
	}
	return out
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
}

func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch x := unwrap(n).(type) {
	case *ast.MappingNode:
		return x.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{x}
	}
	return nil
}

func keyString(k ast.MapKeyNode) string {
	if s, ok := unwrap(k).(*ast.StringNode); ok {
		return s.Value
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// child returns the node at one step below n, or nil. A mapping step yields
// the key-value node, so that its position is the key's.
func child(n ast.Node, s step) ast.Node {
	if kv, ok := n.(*ast.MappingValueNode); ok {
		n = kv.Value
	}
	n = unwrap(n)
	if s.key == "" {
		seq, ok := n.(*ast.SequenceNode)
		if !ok || s.index < 0 || s.index >= len(seq.Values) {
			return nil
		}
		return seq.Values[s.index]
	}
	for _, kv := range mappingValues(n) {
		if keyString(kv.Key) == s.key {
			return kv
		}
	}
	return nil
}

// position returns the 1-based line and column where n starts.
func position(n ast.Node) (int, int) {
	switch x := n.(type) {
	case *ast.MappingValueNode:
		return position(x.Key)
	case *ast.MappingNode:
		if len(x.Values) > 0 {
			return position(x.Values[0].Key)
		}
	}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return tk.Position.Line, tk.Position.Column
		}
	}
	return 1, 1
}

// problemPath maps a problem key of declareIntegration (such as
// "variables[0].type.host" or "variables[1].apiKey") to the YAML path it is
// about.
func problemPath(doc *yamlIntegration, p connection.FieldError) []step {
	rest, ok := strings.CutPrefix(p.Key, "variables[")
	if !ok {
		return []step{{key: p.Key}}
	}
	n, rest, _ := strings.Cut(rest, "].")
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || i >= len(doc.Variables) {
		return []step{{key: "variables"}}
	}
	yv := &doc.Variables[i]
	steps := []step{{key: "variables"}, {index: i}}
	switch rest {
	case "key", "level", "template", "successRedirect", "failureRedirect":
		return append(steps, step{key: rest})
	}
	if t, ok := strings.CutPrefix(rest, "type."); ok {
		steps = append(steps, step{key: "type"})
		return append(steps, typePath(&yv.Type, t, p.Reason)...)
	}
	for _, part := range []string{"visibility", "defaults"} {
		if k, ok := strings.CutPrefix(rest, part+"."); ok {
			return append(steps, step{key: part}, step{key: k})
		}
	}
	return steps
}

// typePath maps a problem key within a type ("key", "oauth2.tokenUrl",
// "auth.field", "fields[2]" or a field key) to its YAML path below "type".
func typePath(t *connection.Type, key, reason string) []step {
	for _, part := range []string{"oauth2", "auth"} {
		if sub, ok := strings.CutPrefix(key, part+"."); ok {
			return []step{{key: part}, {key: sub}}
		}
	}
	if key == "key" {
		return []step{{key: "key"}}
	}
	if n, ok := strings.CutPrefix(key, "fields["); ok {
		if i, err := strconv.Atoi(strings.TrimSuffix(n, "]")); err == nil {
			return []step{{key: "fields"}, {index: i}}
		}
	}
	i := slices.IndexFunc(t.Fields, func(f connection.Field) bool { return f.Key == key })
	if i < 0 {
		return nil
	}
	steps := []step{{key: "fields"}, {index: i}}
	// Point at the attribute the reason is about where it names one; a
	// guess that names an absent key falls back to the field itself.
	for _, attr := range []string{"default", "rule", "choices", "kind"} {
		if strings.Contains(reason, attr) {
			return append(steps, step{key: attr})
		}
	}
	return steps
}
