// SPDX-License-Identifier: MIT
//
// A gRPC server and client in Go (gRPC-Go from Debian's
// golang-google-grpc-dev, over Go's own crypto/tls), for the agent's Go
// TLS hooks: the same service as grpcpeer.py, raw bytes, no protobuf.
//
//	gogrpcpeer serve CERT KEY h2 [PORT]   prints its port, serves until killed
//	gogrpcpeer call PORT PLAN             PLAN: [[method, payload, times], ...]
//	                                      on one connection; prints
//	                                      {"counts": {"method STATUS": n}}
//
// sonde.test.Shop/Get: payload "missing" NOT_FOUND, "fail" INTERNAL, "big"
// 200 KiB, anything else echoed; any other method: UNIMPLEMENTED.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// the canonical status names, as the agent's rpc_response_status_code
var statusNames = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string   { return "raw" }
func (rawCodec) String() string { return "raw" }

func get(_ interface{}, _ context.Context, dec func(interface{}) error,
	_ grpc.UnaryServerInterceptor) (interface{}, error) {
	var in []byte
	if err := dec(&in); err != nil {
		return nil, err
	}
	switch string(in) {
	case "missing":
		return nil, status.Error(codes.NotFound, "no such item")
	case "fail":
		return nil, status.Error(codes.Internal, "store failed")
	case "big":
		out := bytes.Repeat([]byte("x"), 200*1024)
		return &out, nil
	}
	return &in, nil
}

func serve(certFile, keyFile, port string) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		panic(err)
	}
	s := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}})), grpc.CustomCodec(rawCodec{}))
	s.RegisterService(&grpc.ServiceDesc{ServiceName: "sonde.test.Shop",
		HandlerType: (*interface{})(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Get", Handler: get}}}, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	panic(s.Serve(ln))
}

func call(port, plan string) {
	var steps [][]interface{}
	if err := json.Unmarshal([]byte(plan), &steps); err != nil {
		panic(err)
	}
	conn, err := grpc.Dial("127.0.0.1:"+port,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		panic(err)
	}
	counts := map[string]int{}
	for _, s := range steps {
		for i := 0; i < int(s[2].(float64)); i++ {
			in, out := []byte(s[1].(string)), []byte(nil)
			err := conn.Invoke(context.Background(), "/sonde.test.Shop/"+s[0].(string), &in, &out)
			counts[s[0].(string)+" "+statusNames[status.Code(err)]]++
		}
	}
	conn.Close()
	b, _ := json.Marshal(map[string]interface{}{"counts": counts})
	fmt.Println(string(b))
}

func main() {
	switch {
	case len(os.Args) >= 5 && os.Args[1] == "serve":
		port := "0"
		if len(os.Args) == 6 {
			port = os.Args[5]
		}
		serve(os.Args[2], os.Args[3], port)
	case len(os.Args) == 4 && os.Args[1] == "call":
		call(os.Args[2], os.Args[3])
	default:
		fmt.Fprintln(os.Stderr, "usage: gogrpcpeer serve CERT KEY h2 [PORT] | call PORT PLAN")
		os.Exit(2)
	}
}
