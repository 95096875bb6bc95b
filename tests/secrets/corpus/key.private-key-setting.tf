provider "example" {
  private_key = "S3cr3tPrivateKeyValue"
}
