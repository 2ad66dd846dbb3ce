// The OpenAPI 3.0 description served at /openapi.json (kept beside docs/SERVING.md).
#include "serve/assets.h"

namespace ernie::serve {

const char* openapi_json() {
  return R"JSON({
  "openapi": "3.0.3",
  "info": {
    "title": "ernie serve",
    "description": "ERNIE/BERT/RoBERTa encoders over HTTP: the text-embeddings-inference (TEI) API, OpenAI's embeddings API, and question answering, token classification and fill-mask in the Hugging Face Inference API's shape.",
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
            "description": "A text, one pair [a, b] (a list of exactly two strings), a flat list of texts of any other length (a batch), or a batch of texts and pairs [t, [a], [a, b], ...]",
            "oneOf": [
              { "type": "string" },
              { "type": "array", "items": { "type": "string" } },
              { "type": "array", "items": { "$ref": "#/components/schemas/Sequence" }, "minItems": 1 }
            ],
            "example": "What a great movie!"
          },
          "raw_scores": { "type": "boolean", "default": false, "description": "Logits instead of probabilities" },
          "truncate": { "type": "boolean", "default": false, "description": "Cut inputs longer than max_input_length; false (TEI's default) answers 413 instead" }
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
          "pooling": { "type": "string", "enum": ["cls", "mean", "max"], "description": "Default: the server's --pooling" },
          "truncate": { "type": "boolean", "default": false }
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
          "tokenization_workers": { "type": "integer" }, "version": { "type": "string" },
          "tasks": { "type": "array", "items": { "type": "string" }, "description": "What the model's head serves, e.g. [\"text-classification\", \"rerank\", \"feature-extraction\"]" }
        }
      },
      "TaskRequest": {
        "type": "object", "required": ["inputs"],
        "description": "The Hugging Face Inference API's shape: inputs, and transformers' pipeline keyword arguments as parameters (docs/PIPELINES.md)",
        "properties": { "inputs": {}, "parameters": { "type": "object" } }
      },
      "Answer": { "type": "object", "properties": { "score": { "type": "number" }, "start": { "type": "integer" }, "end": { "type": "integer" }, "answer": { "type": "string" } } },
      "Entity": { "type": "object", "properties": { "entity": { "type": "string" }, "entity_group": { "type": "string" }, "score": { "type": "number" }, "index": { "type": "integer" }, "word": { "type": "string" }, "start": { "type": "integer" }, "end": { "type": "integer" } } },
      "MaskFill": { "type": "object", "properties": { "score": { "type": "number" }, "token": { "type": "integer" }, "token_str": { "type": "string" }, "sequence": { "type": "string" } } }
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
    "/embed_all": {
      "post": {
        "summary": "Every token's last hidden state",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["inputs"], "properties": { "inputs": { "$ref": "#/components/schemas/TextInputs" }, "truncate": { "type": "boolean", "default": false } } } } } },
        "responses": { "200": { "description": "[inputs][tokens][hidden]" }, "413": { "$ref": "#/components/responses/Error" }, "422": { "$ref": "#/components/responses/Error" } }
      }
    },
    "/rerank": {
      "post": {
        "summary": "Rank texts against a query with the sequence classifier as a cross-encoder",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["query", "texts"], "properties": { "query": { "type": "string" }, "texts": { "type": "array", "items": { "type": "string" } }, "return_text": { "type": "boolean", "default": false }, "raw_scores": { "type": "boolean", "default": false }, "truncate": { "type": "boolean", "default": false } } } } } },
        "responses": { "200": { "description": "[{index, score, text?}] best first" }, "400": { "$ref": "#/components/responses/Error" }, "413": { "$ref": "#/components/responses/Error" }, "422": { "$ref": "#/components/responses/Error" } }
      }
    },
    "/similarity": {
      "post": {
        "summary": "Cosine similarity of a source sentence with others",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["inputs"], "properties": { "inputs": { "type": "object", "properties": { "source_sentence": { "type": "string" }, "sentences": { "type": "array", "items": { "type": "string" } } } } } } } } },
        "responses": { "200": { "description": "One similarity per sentence" }, "400": { "$ref": "#/components/responses/Error" }, "422": { "$ref": "#/components/responses/Error" } }
      }
    },
    "/decode": {
      "post": {
        "summary": "Token ids back to text",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["ids"], "properties": { "ids": { "type": "array" }, "skip_special_tokens": { "type": "boolean", "default": true } } } } } },
        "responses": { "200": { "description": "A list of texts" }, "400": { "$ref": "#/components/responses/Error" }, "422": { "$ref": "#/components/responses/Error" } }
      }
    },
    "/v1/embeddings": {
      "post": {
        "summary": "OpenAI's embeddings API (normalized vectors)",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["input"], "properties": { "input": { "$ref": "#/components/schemas/TextInputs" }, "model": { "type": "string" }, "encoding_format": { "type": "string", "enum": ["float", "base64"], "default": "float" }, "dimensions": { "type": "integer" } } } } } },
        "responses": { "200": { "description": "{object: list, data: [{object: embedding, index, embedding}], model, usage: {prompt_tokens, total_tokens}}" }, "400": { "$ref": "#/components/responses/Error" }, "422": { "$ref": "#/components/responses/Error" } }
      }
    },
    "/v1/models": {
      "get": { "summary": "OpenAI's model list: the one model served", "responses": { "200": { "description": "{object: list, data: [{id, object: model, created, owned_by}]}" } } }
    },
    "/question-answering": {
      "post": {
        "summary": "Extractive question answering: inputs {question, context} or a list; parameters top_k, doc_stride, max_answer_len, max_seq_len, max_question_len, handle_impossible_answer, align_to_words",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TaskRequest" } } } },
        "responses": { "200": { "description": "An Answer, or a list", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } }, "422": { "$ref": "#/components/responses/Error" } }
      }
    },
    "/token-classification": {
      "post": {
        "summary": "Entities: inputs a text or a list; parameters aggregation_strategy (none|simple|first|average|max), ignore_labels",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TaskRequest" } } } },
        "responses": { "200": { "description": "A list of entities (a list per input for a list)", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Entity" } } } } }, "422": { "$ref": "#/components/responses/Error" } }
      }
    },
    "/fill-mask": {
      "post": {
        "summary": "Candidates for the mask tokens: inputs a text or a list; parameters top_k, targets",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TaskRequest" } } } },
        "responses": { "200": { "description": "A list of candidates (a list per mask when several)", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/MaskFill" } } } } }, "422": { "$ref": "#/components/responses/Error" } }
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
