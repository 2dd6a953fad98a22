package ftp

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"
)

// node is one entry of the bait tree.
type node struct {
	name     string
	dir      bool
	mode     string // ls permission string
	data     []byte
	size     int64
	mtime    time.Time
	children map[string]*node
	upload   bool // uploaded in this session: listed, not readable back
}

// baitTree builds the read-only tree anonymous users see. Its contents and dates
// are derived from the host name, so one decky shows the same files in every session
// and two deckies differ.
func baitTree(host string) *node {
	h := fnv.New64a()
	h.Write([]byte(host))
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	base := time.Date(2024, time.Month(1+rng.IntN(9)), 1+rng.IntN(27), 8+rng.IntN(10), rng.IntN(60), 0, 0, time.UTC)
	at := func(days int) time.Time {
		return base.Add(time.Duration(days)*24*time.Hour + time.Duration(rng.IntN(600))*time.Minute)
	}
	dbPass := fmt.Sprintf("%s%d!", []string{"Summer", "Winter", "Backup", "Welcome"}[rng.IntN(4)], 2019+rng.IntN(6))
	short, _, _ := strings.Cut(host, ".")

	root := dirNode("/", base)
	readme := fmt.Sprintf("Welcome to the %s FTP archive.\n\nPublic files are in /pub. Please upload to /incoming only;\nuploads are reviewed before they are published.\n\nQuestions: ftpadmin@%s\n", short, short)
	root.add(fileNode("README", []byte(readme), at(0)))
	pub := root.add(dirNode("pub", at(2)))
	root.add(dirNode("incoming", at(3)))

	notes := fmt.Sprintf("backup job (cron, 02:30)\n- tarball of /var/www/%s to /srv/ftp/pub\n- db export: mysqldump -u backup -p'%s' --all-databases\n- TODO: move off the anonymous share!\n", short, dbPass)
	pub.add(fileNode("notes.txt", []byte(notes), at(5)))
	sql := fmt.Sprintf("-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: localhost    Database: %s_prod\n-- ------------------------------------------------------\n\nCREATE TABLE `users` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `email` varchar(255) NOT NULL,\n  `password_hash` char(60) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\nINSERT INTO `users` VALUES (1,'admin@%s.local','$2y$10$%s');\n", short, short, randomWord(rng, 53))
	pub.add(fileNode("db_export.sql", []byte(sql), at(6)))
	config := fmt.Sprintf("<?php\ndefine('DB_HOST', 'localhost');\ndefine('DB_NAME', '%s_prod');\ndefine('DB_USER', 'backup');\ndefine('DB_PASSWORD', '%s');\n", short, dbPass)
	pub.add(fileNode("backup.tar.gz", tarGz(at(7), map[string]string{
		"backup/config.php": config,
		"backup/users.csv":  "id,user,role\n1,admin,administrator\n2,webdev,editor\n",
	}), at(7)))
	return root
}

func randomWord(rng *rand.Rand, n int) string {
	const chars = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return string(b)
}

// tarGz builds a real gzip-compressed tar archive (sorted, fixed dates).
func tarGz(mtime time.Time, files map[string]string) []byte {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	gz.ModTime = mtime
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: mtime, Uname: "root", Gname: "root", Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(files[n]))
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

func dirNode(name string, t time.Time) *node {
	return &node{name: name, dir: true, mode: "drwxr-xr-x", size: 4096, mtime: t, children: map[string]*node{}}
}

func fileNode(name string, data []byte, t time.Time) *node {
	return &node{name: name, mode: "-rw-r--r--", data: data, size: int64(len(data)), mtime: t}
}

func (n *node) add(c *node) *node {
	n.children[c.name] = c
	return c
}

// sorted returns a directory's children by name.
func (n *node) sorted() []*node {
	out := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// resolve turns an FTP path argument into a clean absolute path inside the (chroot)
// tree: relative to cwd, ".." never above "/".
func resolve(cwd, arg string) string {
	if arg == "" {
		return cwd
	}
	if !strings.HasPrefix(arg, "/") {
		arg = cwd + "/" + arg
	}
	return path.Clean("/" + arg)
}

// lookup finds the node at an absolute clean path.
func lookup(root *node, p string) *node {
	n := root
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == "" {
			continue
		}
		if !n.dir {
			return nil
		}
		c, ok := n.children[part]
		if !ok {
			return nil
		}
		n = c
	}
	return n
}
