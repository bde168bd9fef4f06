// Command schemagen writes the JSON schemas kubeconform validates the
// Kubernetes manifests with, from sources the Go module proxy serves: the
// OpenAPI (v2) document of a Kubernetes release (module k8s.io/kubernetes,
// api/openapi-spec/swagger.json) and CRDs (prometheus-operator's
// servicemonitors-crd.json). kubeconform's default schema registry is on
// GitHub, which these machines cannot reach (scripts/k8s-check.sh).
//
//	schemagen -swagger swagger.json -crd servicemonitors-crd.json -out DIR apps/v1/Deployment batch/v1/Job …
//
// Each schema is one self-contained file named as kubeconform's default
// template wants it ({{.ResourceKind}}{{.KindSuffix}}.json: deployment-apps-v1.json,
// service-v1.json, servicemonitor-monitoring-v1.json), strict as
// openapi2jsonschema --strict makes them (no properties beyond the schema's),
// with Kubernetes' int-or-string and quantity types spelled in JSON schema.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

type crdFlags []string

func (c *crdFlags) String() string     { return strings.Join(*c, ",") }
func (c *crdFlags) Set(v string) error { *c = append(*c, v); return nil }

func run(args []string) error {
	fs := flag.NewFlagSet("schemagen", flag.ContinueOnError)
	swagger := fs.String("swagger", "", "Kubernetes OpenAPI v2 document (swagger.json)")
	out := fs.String("out", "", "directory to write the schemas to")
	var crds crdFlags
	fs.Var(&crds, "crd", "a CustomResourceDefinition as JSON (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *swagger == "" || *out == "" || fs.NArg() == 0 {
		return errors.New("usage: schemagen -swagger FILE [-crd FILE…] -out DIR GROUP/VERSION/KIND…")
	}
	defs, err := readSwagger(*swagger)
	if err != nil {
		return err
	}
	byGVK := map[string]string{} // "apps/v1/Deployment" → definition name
	for name, d := range defs {
		var gvks []struct{ Group, Version, Kind string }
		if raw, ok := d["x-kubernetes-group-version-kind"]; ok {
			b, _ := json.Marshal(raw)
			_ = json.Unmarshal(b, &gvks)
		}
		for _, g := range gvks {
			byGVK[gvk(g.Group, g.Version, g.Kind)] = name
		}
	}
	crdSchemas := map[string]map[string]any{}
	for _, f := range crds {
		if err := readCRD(f, crdSchemas); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, want := range fs.Args() {
		group, version, kind, err := splitGVK(want)
		if err != nil {
			return err
		}
		var schema map[string]any
		if s, ok := crdSchemas[gvk(group, version, kind)]; ok {
			schema = s
		} else if name, ok := byGVK[gvk(group, version, kind)]; ok {
			schema = standalone(defs, name)
		} else {
			return fmt.Errorf("%s: no such kind in the OpenAPI document or the CRDs", want)
		}
		b, err := json.MarshalIndent(schema, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*out, fileName(group, version, kind)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func gvk(group, version, kind string) string { return group + "/" + version + "/" + kind }

// splitGVK reads "apps/v1/Deployment", or "v1/Service" for the core group.
func splitGVK(s string) (group, version, kind string, err error) {
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 2:
		return "", parts[0], parts[1], nil
	case 3:
		return parts[0], parts[1], parts[2], nil
	}
	return "", "", "", fmt.Errorf("%q: want GROUP/VERSION/KIND or VERSION/KIND", s)
}

// fileName is kubeconform's default {{.ResourceKind}}{{.KindSuffix}}.json.
func fileName(group, version, kind string) string {
	suffix := "-" + version
	if group != "" {
		suffix = "-" + strings.Split(group, ".")[0] + "-" + version
	}
	return strings.ToLower(kind) + suffix + ".json"
}

func readSwagger(path string) (map[string]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Definitions) == 0 {
		return nil, fmt.Errorf("%s: no definitions", path)
	}
	return doc.Definitions, nil
}

// standalone is the schema of definition name with every definition it
// reaches, strict.
func standalone(defs map[string]map[string]any, name string) map[string]any {
	need := map[string]any{}
	var visit func(n string)
	visit = func(n string) {
		if _, done := need[n]; done {
			return
		}
		need[n] = nil
		d := fixTypes(n, defs[n])
		need[n] = strict(d)
		walkRefs(d, visit)
	}
	visit(name)
	return map[string]any{
		"$schema":     "http://json-schema.org/schema#",
		"$ref":        "#/definitions/" + name,
		"definitions": need,
	}
}

// fixTypes spells Kubernetes' special string types as JSON schema: an
// int-or-string is a string or an integer, a quantity a string or a number.
func fixTypes(name string, d map[string]any) map[string]any {
	switch {
	case d["format"] == "int-or-string":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	case name == "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	}
	return d
}

func walkRefs(v any, visit func(string)) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			visit(strings.TrimPrefix(ref, "#/definitions/"))
		}
		for _, c := range v {
			walkRefs(c, visit)
		}
	case []any:
		for _, c := range v {
			walkRefs(c, visit)
		}
	}
}

// strict forbids properties a schema does not list, in every object that
// lists some (and does not keep unknown fields on purpose), as
// openapi2jsonschema --strict does; int-or-string fields of CRDs become
// string-or-integer.
func strict(v any) map[string]any {
	m, _ := strictValue(v).(map[string]any)
	return m
}

func strictValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, c := range v {
			out[k] = strictValue(c)
		}
		if out["x-kubernetes-int-or-string"] == true {
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		}
		if _, has := out["properties"]; has && out["x-kubernetes-preserve-unknown-fields"] != true {
			if _, set := out["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = strictValue(c)
		}
		return out
	}
	return v
}

// readCRD adds the schema of every served version of a CRD (JSON) to into.
func readCRD(path string, into map[string]map[string]any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd struct {
		Spec struct {
			Group string
			Names struct{ Kind string }
			// Versions' schemas.
			Versions []struct {
				Name   string
				Served bool
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				}
			}
		}
	}
	if err := json.Unmarshal(b, &crd); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if crd.Spec.Names.Kind == "" || len(crd.Spec.Versions) == 0 {
		return fmt.Errorf("%s: not a CustomResourceDefinition", path)
	}
	for _, v := range crd.Spec.Versions {
		if !v.Served || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		s := strict(v.Schema.OpenAPIV3Schema)
		s["$schema"] = "http://json-schema.org/schema#"
		into[gvk(crd.Spec.Group, v.Name, crd.Spec.Names.Kind)] = s
	}
	return nil
}
