// The OpenAPI 3.0 description served at /openapi.json (kept beside docs/SERVING.md).
#include "serve/assets.h"

namespace ernie::serve {

const char* openapi_json() {
  return R"JSON({
  "openapi": "3.0.3",
  "info": {
    "title": "ernie serve",
    "description": "Text classification, embeddings and tokenization for ERNIE/BERT/RoBERTa encoders, with the text-embeddings-inference (TEI) API.",
    "version": ")JSON" ERNIE_VERSION R"JSON("
  },
  "components": {
    "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "Only when the server runs with --api-key; /health and / never need it." } },
    "schemas": {
      "ErrorResponse": {
        "type": "object", "required": ["error", "error_type"],
        "properties": {
          "error": { "type": "string", "example": "\"inputs\" is an empty list" },
          "error_type": { "type": "string", "enum": ["invalid_json", "empty", "validation", "tokenizer", "unauthorized", "not_found", "overloaded", "backend", "timeout", "invalid_request", "method_not_allowed"] }
        }
      },
      "Sequence": {
        "oneOf": [
          { "type": "string", "description": "A text" },
          { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 2, "description": "[text] or [text, text_pair]" }
        ]
      },
      "PredictRequest": {
        "type": "object", "required": ["inputs"],
        "properties": {
          "inputs": {
            "description": "A text, one pair [a, b], or a batch [[a], [a, b], ...]",
            "oneOf": [
              { "type": "string" },
              { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 2 },
              { "type": "array", "items": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 2 }, "minItems": 1 }
            ],
            "example": "What a great movie!"
          },
          "raw_scores": { "type": "boolean", "default": false, "description": "Logits instead of probabilities" },
          "truncate": { "type": "boolean", "default": true, "description": "Cut inputs longer than max_input_length; false answers 413 instead" }
        }
      },
      "Prediction": { "type": "object", "properties": { "label": { "type": "string" }, "score": { "type": "number" } } },
      "PredictResponse": {
        "oneOf": [
          { "type": "array", "items": { "$ref": "#/components/schemas/Prediction" }, "description": "One input: labels sorted by score" },
          { "type": "array", "items": { "type": "array", "items": { "$ref": "#/components/schemas/Prediction" } }, "description": "A batch" }
        ]
      },
      "TextInputs": {
        "oneOf": [ { "type": "string" }, { "type": "array", "items": { "type": "string" }, "minItems": 1 } ],
        "example": ["first text", "second text"]
      },
      "EmbedRequest": {
        "type": "object", "required": ["inputs"],
        "properties": {
          "inputs": { "$ref": "#/components/schemas/TextInputs" },
          "normalize": { "type": "boolean", "default": true, "description": "L2-normalize each vector" },
          "pooling": { "type": "string", "enum": ["cls", "mean"], "description": "Default: the server's --pooling" },
          "truncate": { "type": "boolean", "default": true }
        }
      },
      "EmbedResponse": { "type": "array", "items": { "type": "array", "items": { "type": "number" } } },
      "TokenizeRequest": {
        "type": "object", "required": ["inputs"],
        "properties": {
          "inputs": { "$ref": "#/components/schemas/TextInputs" },
          "add_special_tokens": { "type": "boolean", "default": true },
          "truncate": { "type": "boolean", "default": false }
        }
      },
      "Token": {
        "type": "object",
        "properties": {
          "id": { "type": "integer" },
          "text": { "type": "string", "description": "The covered input text (special tokens: the token itself)" },
          "token": { "type": "string", "description": "The vocabulary entry, e.g. ##ing" },
          "special": { "type": "boolean" },
          "start": { "type": "integer", "nullable": true, "description": "Byte offset into the input" },
          "stop": { "type": "integer", "nullable": true, "description": "Byte offset one past the end" }
        }
      },
      "TokenizeResponse": { "type": "array", "items": { "type": "array", "items": { "$ref": "#/components/schemas/Token" } } },
      "Info": {
        "type": "object",
        "properties": {
          "model_id": { "type": "string" }, "model_sha": { "type": "string", "nullable": true },
          "model_dtype": { "type": "string", "enum": ["f32", "bf16", "int8"] },
          "model_type": { "type": "object", "description": "{\"classifier\": {\"id2label\", \"label2id\", \"multi_label\"}} or {\"embedding\": {\"pooling\"}}" },
          "architecture": { "type": "string" }, "hidden_size": { "type": "integer" },
          "max_input_length": { "type": "integer" }, "max_concurrent_requests": { "type": "integer" },
          "max_batch_tokens": { "type": "integer" }, "max_batch_requests": { "type": "integer" },
          "max_client_batch_size": { "type": "integer" }, "max_wait_ms": { "type": "integer" },
          "tokenization_workers": { "type": "integer" }, "version": { "type": "string" }
        }
      }
    },
    "responses": {
      "Error": { "description": "An error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorResponse" } } } }
    }
  },
  "security": [ { "bearer": [] } ],
  "paths": {
    "/predict": {
      "post": {
        "summary": "Classify texts or text pairs",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PredictRequest" } } } },
        "responses": {
          "200": { "description": "Labels and scores", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PredictResponse" } } } },
          "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
          "413": { "$ref": "#/components/responses/Error" }, "422": { "$ref": "#/components/responses/Error" },
          "429": { "$ref": "#/components/responses/Error" }, "503": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/embed": {
      "post": {
        "summary": "Pooled embeddings (cls or mean of the last hidden state)",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EmbedRequest" } } } },
        "responses": {
          "200": { "description": "One vector per input", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EmbedResponse" } } } },
          "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
          "413": { "$ref": "#/components/responses/Error" }, "422": { "$ref": "#/components/responses/Error" },
          "429": { "$ref": "#/components/responses/Error" }, "503": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/tokenize": {
      "post": {
        "summary": "Tokens with ids and byte offsets",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TokenizeRequest" } } } },
        "responses": {
          "200": { "description": "One token list per input", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TokenizeResponse" } } } },
          "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
          "413": { "$ref": "#/components/responses/Error" }, "422": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/info": {
      "get": { "summary": "Model and server limits", "responses": { "200": { "description": "Info", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Info" } } } } } }
    },
    "/health": {
      "get": { "summary": "Liveness (no API key needed)", "security": [], "responses": { "200": { "description": "{\"status\": \"ok\"}" } } }
    },
    "/metrics": {
      "get": { "summary": "Prometheus metrics (text exposition format 0.0.4)", "responses": { "200": { "description": "Metrics", "content": { "text/plain": { "schema": { "type": "string" } } } } } }
    },
    "/openapi.json": {
      "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.0 document" } } }
    },
    "/": {
      "get": { "summary": "A web page to try the model (its API calls use the key typed into it)", "security": [], "responses": { "200": { "description": "HTML", "content": { "text/html": {} } } } }
    }
  }
}
)JSON";
}

}  // namespace ernie::serve
