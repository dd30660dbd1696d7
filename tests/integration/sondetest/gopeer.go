// SPDX-License-Identifier: MIT
//
// A Go program with Go's own TLS (crypto/tls, compiled in: no libssl), for
// the agent's Go hooks to be tested against: an HTTPS server and an HTTPS
// client, HTTP/1.1 or HTTP/2. Built by gopeers.py with Debian's go.
//
//	gopeer serve CERT KEY h1|h2 [PORT]   prints its port, serves until killed;
//	                                     PORT a path: on that unix socket
//	                                     (prints 0)
//	gopeer get BASE PLAN h1|h2 CONNS     PLAN: [[path, requests], ...] run on
//	                                     CONNS connections one after another;
//	                                     prints {"STATUS": count} as JSON;
//	                                     BASE unix:PATH: over that unix
//	                                     socket (URLs https://localhost)
//
// Paths: /ok (200), /missing (404), /fail (503), /big (200, 200 KiB).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func serve(cert, key, proto, port string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "failing", http.StatusServiceUnavailable)
	})
	big := bytes.Repeat([]byte("0123456789abcdef"), 200*1024/16)
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	srv := &http.Server{Handler: mux}
	if proto == "h1" {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	var ln net.Listener
	var err error
	if strings.HasPrefix(port, "/") {
		ln, err = net.Listen("unix", port)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:"+port)
	}
	if err != nil {
		panic(err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		fmt.Println(a.Port)
	} else {
		fmt.Println(0)
	}
	panic(srv.ServeTLS(ln, cert, key))
}

func get(base, plan, proto string, conns int) {
	var steps [][]interface{}
	if err := json.Unmarshal([]byte(plan), &steps); err != nil {
		panic(err)
	}
	counts := map[string]int{}
	for c := 0; c < conns; c++ {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		if strings.HasPrefix(base, "unix:") {
			path := base[len("unix:"):]
			tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", path)
			}
		}
		if proto == "h2" {
			tr.ForceAttemptHTTP2 = true
		} else {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		client := &http.Client{Transport: tr}
		for _, s := range steps {
			for i := 0; i < int(s[1].(float64)); i++ {
				url := base + s[0].(string)
				if strings.HasPrefix(base, "unix:") {
					url = "https://localhost" + s[0].(string)
				}
				r, err := client.Get(url)
				if err != nil {
					panic(err)
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if (proto == "h2") != (r.ProtoMajor == 2) {
					panic("spoke " + r.Proto)
				}
				counts[strconv.Itoa(r.StatusCode)]++
			}
		}
		tr.CloseIdleConnections()
	}
	out, _ := json.Marshal(counts)
	fmt.Println(string(out))
}

func main() {
	switch {
	case len(os.Args) == 5 && os.Args[1] == "serve":
		serve(os.Args[2], os.Args[3], os.Args[4], "0")
	case len(os.Args) == 6 && os.Args[1] == "serve":
		serve(os.Args[2], os.Args[3], os.Args[4], os.Args[5])
	case len(os.Args) == 6 && os.Args[1] == "get":
		n, err := strconv.Atoi(os.Args[5])
		if err != nil {
			panic(err)
		}
		get(os.Args[2], os.Args[3], os.Args[4], n)
	default:
		fmt.Fprintln(os.Stderr, "usage: gopeer serve CERT KEY h1|h2 [PORT] | get BASE PLAN h1|h2 CONNS")
		os.Exit(2)
	}
}
