// Package genclient generates a Go client of the API from its OpenAPI
// document with oapi-codegen, the way a bank's or a trader's developers
// would. The system test builds the generated client and calls the
// running API with it: the document stays valid for the tools clients
// use. Only tests import this package.
package genclient

import (
	"fmt"

	"github.com/ewrchain/ewr/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"

	// The generated client's runtime: kept in go.mod for it.
	_ "github.com/oapi-codegen/runtime"
)

// Generate returns the Go source of a client and models for the API, in
// package pkg.
func Generate(pkg string) (string, error) {
	doc, err := api.OpenAPIDocument()
	if err != nil {
		return "", err
	}
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		return "", fmt.Errorf("genclient: load: %w", err)
	}
	return codegen.Generate(spec, codegen.Configuration{PackageName: pkg,
		Generate: codegen.GenerateOptions{Client: true, Models: true}})
}

// Program is a small client program using the generated code: it reads
// the receipt named by -receipt with the bearer -token from the API at
// -url and prints its id, holder and quantity as the generated models
// decoded them.
const Program = `package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
)

func main() {
	url := flag.String("url", "", "API base URL")
	token := flag.String("token", "", "bearer token")
	id := flag.String("receipt", "", "receipt id")
	flag.Parse()
	c, err := NewClientWithResponses(*url, WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+*token)
		return nil
	}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := c.GetReceiptsIdWithResponse(context.Background(), *id)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if res.JSON200 == nil {
		fmt.Fprintf(os.Stderr, "HTTP %d: %s\n", res.StatusCode(), res.Body)
		os.Exit(1)
	}
	r := res.JSON200
	fmt.Printf("%s %s %d %s\n", r.Id, r.Holder, r.Quantity, r.State)
}
`
