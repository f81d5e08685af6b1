"""Small example networks built with onnx.helper (deterministic weights)."""
