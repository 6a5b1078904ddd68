# Provider-free: the root is made offline, and this module only publishes its certificate(s).
terraform {
  required_version = ">= 1.9"
}
