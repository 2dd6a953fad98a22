// Command hello is built by testenv's tests to check buildBinary.
package main

import "fmt"

func main() { fmt.Println("hello from dnt") }
