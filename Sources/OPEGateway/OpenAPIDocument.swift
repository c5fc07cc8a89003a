/// The OpenAPI 3.1 description of the REST API, served at `/api/openapi.json`.
///
/// Kept by hand next to the controllers; `OpenAPIDocumentTests` checks that every route is described.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "OPE API",
    "version": "0.1.0",
    "description": "Online Programming Exercises: accounts, modules and the event record. Browsers authenticate with the `ope_session` cookie set by sign-in and send the CSRF token from sign-in or `GET /api/me` as `X-CSRF-Token` on every state-changing request; scripts use `Authorization: Bearer <token>` from `POST /api/tokens` or `ope user token`. Every error is JSON `{\"error\": \"...\"}`."
  },
  "servers": [
    {
      "url": "/"
    }
  ],
  "security": [
    {
      "cookie": []
    },
    {
      "bearer": []
    }
  ],
  "paths": {
    "/api/auth/login": {
      "post": {
        "summary": "Sign in with username and password",
        "tags": [
          "auth"
        ],
        "responses": {
          "200": {
            "description": "Signed in; sets the ope_session cookie (HttpOnly, SameSite=Lax)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Me"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "429": {
            "$ref": "#/components/responses/Error"
          }
        },
        "description": "Too many failures for one username or from one address are refused with 429 and Retry-After.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/LoginRequest"
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/auth/logout": {
      "post": {
        "summary": "Sign out this browser, or every session of the user",
        "tags": [
          "auth"
        ],
        "responses": {
          "204": {
            "description": "Signed out; the cookie is cleared"
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "everywhere": {
                    "type": [
                      "boolean",
                      "null"
                    ]
                  },
                  "revokeTokens": {
                    "type": [
                      "boolean",
                      "null"
                    ],
                    "description": "With everywhere: true, also revoke all of the user's API tokens"
                  }
                }
              }
            }
          }
        }
      }
    },
    "/api/me": {
      "get": {
        "summary": "The signed-in user",
        "tags": [
          "auth"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Me"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/tokens": {
      "post": {
        "summary": "Create an API token for scripts (shown once)",
        "tags": [
          "auth"
        ],
        "responses": {
          "201": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "token",
                    "id",
                    "name",
                    "createdAt"
                  ],
                  "properties": {
                    "token": {
                      "type": "string",
                      "description": "The secret: shown this once, never again"
                    },
                    "id": {
                      "type": "string"
                    },
                    "name": {
                      "type": "string"
                    },
                    "createdAt": {
                      "type": "string",
                      "format": "date-time"
                    },
                    "expiresAt": {
                      "type": "string",
                      "format": "date-time"
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100
                  },
                  "expiresInDays": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "minimum": 1,
                    "maximum": 365,
                    "default": 90
                  }
                }
              }
            }
          }
        }
      },
      "get": {
        "summary": "API tokens (never their secrets): the caller's own; admins may ask for one user's (?user=) or everyone's (?all=true)",
        "tags": [
          "auth"
        ],
        "parameters": [
          {
            "name": "user",
            "in": "query",
            "schema": {
              "type": "string",
              "minLength": 1
            }
          },
          {
            "name": "all",
            "in": "query",
            "schema": {
              "type": "string",
              "enum": [
                "true",
                "false"
              ]
            }
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/APIToken"
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/tokens/{id}": {
      "delete": {
        "summary": "Revoke a token (own, or any for admins): it stops working at once, open WebSockets included",
        "tags": [
          "auth"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "204": {
            "description": "Revoked"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/modules": {
      "get": {
        "summary": "Modules on offer",
        "tags": [
          "modules"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/ModuleSummary"
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/modules/{id}": {
      "get": {
        "summary": "One module with its task instructions",
        "tags": [
          "modules"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ModuleDetail"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/api/modules/problems": {
      "get": {
        "summary": "Modules that failed to load, with file, line and field",
        "tags": [
          "modules"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/ModuleProblem"
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/modules/sync": {
      "post": {
        "summary": "Fetch the module repositories again and reload all modules (staff)",
        "tags": [
          "modules"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "modules": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/ModuleSummary"
                      }
                    },
                    "problems": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/ModuleProblem"
                      }
                    },
                    "repositories": {
                      "type": "array",
                      "items": {
                        "type": "object",
                        "properties": {
                          "name": {
                            "type": "string"
                          },
                          "url": {
                            "type": "string"
                          },
                          "ref": {
                            "type": "string"
                          },
                          "commit": {
                            "type": [
                              "string",
                              "null"
                            ]
                          },
                          "error": {
                            "type": [
                              "string",
                              "null"
                            ]
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/users": {
      "get": {
        "summary": "All accounts (staff)",
        "tags": [
          "users"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/User"
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        }
      },
      "post": {
        "summary": "Create an account (admin)",
        "tags": [
          "users"
        ],
        "responses": {
          "201": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "username"
                ],
                "properties": {
                  "username": {
                    "type": "string",
                    "pattern": "^[a-z0-9._-]{2,64}$"
                  },
                  "displayName": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "pattern": "\\S",
                    "description": "default: the username"
                  },
                  "role": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "enum": [
                      "participant",
                      "instructor",
                      "admin"
                    ]
                  },
                  "password": {
                    "type": "string",
                    "minLength": 8,
                    "description": "Generated and answered once (in the password field) when left out"
                  }
                }
              }
            }
          }
        }
      }
    },
    "/api/users/import": {
      "post": {
        "summary": "Create accounts from a roster CSV: username, display name, role (admin); new passwords are answered once",
        "tags": [
          "users"
        ],
        "requestBody": {
          "required": true,
          "content": {
            "text/csv": {
              "schema": {
                "type": "string",
                "minLength": 1
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Imported",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "created",
                    "existing"
                  ],
                  "properties": {
                    "created": {
                      "type": "array",
                      "items": {
                        "type": "object",
                        "required": [
                          "username",
                          "displayName",
                          "role",
                          "password"
                        ],
                        "properties": {
                          "username": {
                            "type": "string"
                          },
                          "displayName": {
                            "type": "string"
                          },
                          "role": {
                            "type": "string"
                          },
                          "password": {
                            "type": "string"
                          }
                        }
                      }
                    },
                    "existing": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      },
                      "description": "Usernames already taken, left unchanged"
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "413": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/users/{username}": {
      "patch": {
        "summary": "Change an account's role or display name, or disable/enable it (admin). A disabled account cannot sign in; its sign-ins end and its tokens are refused at once",
        "tags": [
          "users"
        ],
        "parameters": [
          {
            "name": "username",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "description": "At least one of the three, not null (null means: leave as it is)",
                "properties": {
                  "role": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "enum": [
                      "participant",
                      "instructor",
                      "admin",
                      null
                    ]
                  },
                  "displayName": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "pattern": "\\S",
                    "maxLength": 100
                  },
                  "disabled": {
                    "type": [
                      "boolean",
                      "null"
                    ]
                  }
                },
                "anyOf": [
                  {
                    "required": [
                      "role"
                    ],
                    "properties": {
                      "role": {
                        "type": "string"
                      }
                    }
                  },
                  {
                    "required": [
                      "displayName"
                    ],
                    "properties": {
                      "displayName": {
                        "type": "string"
                      }
                    }
                  },
                  {
                    "required": [
                      "disabled"
                    ],
                    "properties": {
                      "disabled": {
                        "type": "boolean"
                      }
                    }
                  }
                ]
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "description": "It would leave no enabled admin, or an admin tried to disable their own account",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/api/users/{username}/password": {
      "post": {
        "summary": "Set a new password (admin); generated and answered once when left out. The account's sign-ins end",
        "tags": [
          "users"
        ],
        "parameters": [
          {
            "name": "username",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "password": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "At least 8 characters; empty or null: generate one",
                    "anyOf": [
                      {
                        "type": "null"
                      },
                      {
                        "type": "string",
                        "maxLength": 0
                      },
                      {
                        "type": "string",
                        "minLength": 8
                      }
                    ]
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "username"
                  ],
                  "properties": {
                    "username": {
                      "type": "string"
                    },
                    "password": {
                      "type": "string",
                      "description": "Only when generated"
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/events": {
      "get": {
        "summary": "A page of events in log order (staff)",
        "tags": [
          "events"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/Event"
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "after",
            "in": "query",
            "required": false,
            "description": "only events with a larger id",
            "schema": {
              "type": "integer",
              "format": "int64"
            }
          },
          {
            "name": "session",
            "in": "query",
            "required": false,
            "description": "only this session",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "module",
            "in": "query",
            "required": false,
            "description": "only sessions on this module",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "since",
            "in": "query",
            "required": false,
            "description": "ISO 8601 date or date-time; empty means no limit",
            "schema": {
              "type": "string",
              "anyOf": [
                {
                  "maxLength": 0
                },
                {
                  "format": "date"
                },
                {
                  "format": "date-time"
                }
              ]
            }
          },
          {
            "name": "until",
            "in": "query",
            "required": false,
            "description": "ISO 8601 date or date-time (a date includes that day); empty means no limit",
            "schema": {
              "type": "string",
              "anyOf": [
                {
                  "maxLength": 0
                },
                {
                  "format": "date"
                },
                {
                  "format": "date-time"
                }
              ]
            }
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "at most this many (1-10000, default 1000)",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 10000
            }
          }
        ]
      }
    },
    "/api/events/export": {
      "get": {
        "summary": "Download events as JSON Lines or CSV (staff)",
        "tags": [
          "events"
        ],
        "responses": {
          "200": {
            "description": "The export, streamed",
            "content": {
              "application/x-ndjson": {
                "schema": {
                  "type": "string"
                }
              },
              "text/csv": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "format",
            "in": "query",
            "required": false,
            "description": "jsonl (default) or csv",
            "schema": {
              "type": "string",
              "enum": [
                "jsonl",
                "csv"
              ]
            }
          },
          {
            "name": "after",
            "in": "query",
            "required": false,
            "description": "only events with a larger id",
            "schema": {
              "type": "integer",
              "format": "int64"
            }
          },
          {
            "name": "session",
            "in": "query",
            "required": false,
            "description": "only this session",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "module",
            "in": "query",
            "required": false,
            "description": "only sessions on this module",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "since",
            "in": "query",
            "required": false,
            "description": "ISO 8601 date or date-time; empty means no limit",
            "schema": {
              "type": "string",
              "anyOf": [
                {
                  "maxLength": 0
                },
                {
                  "format": "date"
                },
                {
                  "format": "date-time"
                }
              ]
            }
          },
          {
            "name": "until",
            "in": "query",
            "required": false,
            "description": "ISO 8601 date or date-time (a date includes that day); empty means no limit",
            "schema": {
              "type": "string",
              "anyOf": [
                {
                  "maxLength": 0
                },
                {
                  "format": "date"
                },
                {
                  "format": "date-time"
                }
              ]
            }
          }
        ]
      }
    },
    "/healthz": {
      "get": {
        "summary": "Liveness",
        "tags": [
          "system"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "status": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics",
        "tags": [
          "system"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/openapi.json": {
      "get": {
        "summary": "This document",
        "tags": [
          "system"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/lobby/join": {
      "post": {
        "summary": "Join the lobby of a module (dynamic mode) or go to your fixed group's session (static mode)",
        "tags": [
          "lobby"
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "module"
                ],
                "properties": {
                  "module": {
                    "type": "string"
                  },
                  "leaveSession": {
                    "type": "string",
                    "description": "The id of the session you are in: leave it and join this module in one step. Without it, someone in a live session gets 409 saying how to choose."
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/LobbyStatus"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        }
      },
      "delete": {
        "summary": "Leave the lobby",
        "tags": [
          "lobby"
        ],
        "responses": {
          "204": {
            "description": "Left the queue"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/lobby": {
      "get": {
        "summary": "Where you stand: waiting (with position), matched (with session), gave_up or idle",
        "tags": [
          "lobby"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/LobbyStatus"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions": {
      "get": {
        "summary": "Live sessions (staff)",
        "tags": [
          "sessions"
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/Session"
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions/{id}": {
      "get": {
        "summary": "A session: members, roles, phase (members and staff)",
        "tags": [
          "sessions"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Session"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions/{id}/rotate": {
      "post": {
        "summary": "Rotate roles one step (staff)",
        "tags": [
          "sessions"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Session"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions/{id}/end": {
      "post": {
        "summary": "End a session as completed (staff)",
        "tags": [
          "sessions"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Session"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions/{id}/leave": {
      "post": {
        "summary": "Leave your session for good (members): the team is told in its room (session.member_left), works on without you with roles for its new size, and the session ends (abandoned) if nobody is left. You may join another module afterwards.",
        "tags": [
          "sessions"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "Left",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "session": {
                      "type": "string"
                    },
                    "module": {
                      "type": "string"
                    },
                    "remaining": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      }
                    },
                    "phase": {
                      "type": "string"
                    },
                    "message": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions/{id}/hint": {
      "post": {
        "summary": "Send a hint to one team; it appears in their chat as an instructor hint (staff)",
        "tags": [
          "sessions"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": ["text"],
                "properties": {
                  "text": {"type": "string", "minLength": 1, "maxLength": 1000}
                }
              }
            }
          }
        },
        "responses": {
          "204": {
            "description": "Sent"
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/hints": {
      "post": {
        "summary": "Send a hint to every live team, or every team of one module (staff)",
        "tags": [
          "sessions"
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": ["text"],
                "properties": {
                  "text": {"type": "string", "minLength": 1, "maxLength": 1000},
                  "module": {"type": ["string", "null"]}
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "How many teams got it",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {"sent": {"type": "integer"}}
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/lobby/queue": {
      "get": {
        "summary": "Who waits in the lobby for which module, in queue order (staff)",
        "tags": [
          "lobby"
        ],
        "responses": {
          "200": {
            "description": "Per module, the people waiting",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "type": "object",
                    "properties": {
                      "module": {"type": "string"},
                      "waiting": {
                        "type": "array",
                        "items": {
                          "type": "object",
                          "properties": {
                            "username": {"type": "string"},
                            "since": {"type": "string", "format": "date-time"},
                            "position": {"type": "integer"}
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions/{id}/ws": {
      "get": {
        "summary": "The team room WebSocket (see docs/protocol.md); ?after=EVENT_ID replays what was missed",
        "tags": [
          "sessions"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "after",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "format": "int64"
            }
          }
        ],
        "responses": {
          "101": {
            "description": "Switching to the WebSocket protocol"
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "426": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/modules/{id}/matching": {
      "post": {
        "summary": "Open or close a module, or switch it between dynamic and static mode (staff)",
        "tags": [
          "modules"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "open": {
                    "type": [
                      "boolean",
                      "null"
                    ]
                  },
                  "mode": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "enum": [
                      "dynamic",
                      "static",
                      null
                    ]
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "mode",
                    "open",
                    "settle",
                    "giveUp",
                    "lateJoin"
                  ],
                  "properties": {
                    "mode": {
                      "type": "string",
                      "enum": [
                        "dynamic",
                        "static"
                      ]
                    },
                    "open": {
                      "type": "boolean"
                    },
                    "settle": {
                      "type": "integer",
                      "minimum": 0,
                      "description": "Seconds the lobby waits before forming a group smaller than the target"
                    },
                    "giveUp": {
                      "type": "integer",
                      "minimum": 0,
                      "description": "Seconds in the queue after which a participant is told and leaves it"
                    },
                    "lateJoin": {
                      "type": "integer",
                      "minimum": 0,
                      "description": "Seconds a session below its maximum size takes late joiners"
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/modules/{id}/groups": {
      "put": {
        "summary": "Upload fixed groups as CSV (username,group); the module switches to static mode (staff)",
        "tags": [
          "modules"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "text/csv": {
              "schema": {
                "type": "string",
                "minLength": 1,
                "description": "username,group per line (a header row is optional); every user must exist"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Groups"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "413": {
            "$ref": "#/components/responses/Error"
          }
        }
      },
      "get": {
        "summary": "The fixed groups of a module (staff)",
        "tags": [
          "modules"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Groups"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions/{id}/tests": {
      "post": {
        "summary": "Run a task's tests on the group's files (members and staff); records a test.result event the room shows",
        "tags": [
          "sessions"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "task"
                ],
                "properties": {
                  "task": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The tests ran (passed or not)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TestOutcome"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/api/sessions/{id}/workspace/restart": {
      "post": {
        "summary": "Start the session's workspace again (members and staff), e.g. after it failed or was stopped",
        "tags": [
          "sessions"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "202": {
            "description": "Restarting",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Workspace"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          },
          "429": {
            "description": "Too many workspaces are starting; the Retry-After header says when to try again",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/w/{workspace}/{path}": {
      "get": {
        "summary": "The session's JupyterLab through the authenticating proxy (every method, and WebSocket upgrades); members and staff only. A stopped workspace starts again on first use.",
        "tags": [
          "workspaces"
        ],
        "parameters": [
          {
            "name": "workspace",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "path",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "JupyterLab's answer, streamed"
          },
          "307": {
            "description": "The workspace moved (restarted under another id, or lives on the workspace origin)"
          },
          "401": {
            "$ref": "#/components/responses/Error"
          },
          "403": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "410": {
            "$ref": "#/components/responses/Error"
          },
          "429": {
            "$ref": "#/components/responses/Error"
          },
          "502": {
            "$ref": "#/components/responses/Error"
          },
          "503": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "cookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "ope_session"
      },
      "bearer": {
        "type": "http",
        "scheme": "bearer"
      }
    },
    "responses": {
      "Error": {
        "description": "The request was refused; the message says why",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "required": [
          "error"
        ],
        "properties": {
          "error": {
            "type": "string"
          }
        }
      },
      "LoginRequest": {
        "type": "object",
        "required": [
          "username",
          "password"
        ],
        "properties": {
          "username": {
            "type": "string"
          },
          "password": {
            "type": "string"
          }
        }
      },
      "Me": {
        "type": "object",
        "required": [
          "username",
          "displayName",
          "role"
        ],
        "properties": {
          "username": {
            "type": "string"
          },
          "displayName": {
            "type": "string"
          },
          "role": {
            "type": "string",
            "description": "The team role (driver, navigator, ...) while in a session, otherwise the platform role"
          },
          "csrfToken": {
            "type": "string"
          },
          "platformRole": {
            "type": "string",
            "enum": [
              "participant",
              "instructor",
              "admin"
            ]
          },
          "session": {
            "type": "string",
            "description": "The session the user is in, if any"
          }
        }
      },
      "User": {
        "type": "object",
        "required": [
          "username",
          "displayName",
          "role",
          "disabled"
        ],
        "properties": {
          "username": {
            "type": "string"
          },
          "displayName": {
            "type": "string"
          },
          "role": {
            "type": "string"
          },
          "disabled": {
            "type": "boolean"
          },
          "password": {
            "type": "string",
            "description": "Only in the answer to a create without a password: the generated one, shown once"
          }
        }
      },
      "APIToken": {
        "type": "object",
        "required": [
          "id",
          "username",
          "name",
          "createdAt",
          "expired"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "username": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "expiresAt": {
            "type": "string",
            "format": "date-time"
          },
          "lastUsed": {
            "type": "string",
            "format": "date-time"
          },
          "expired": {
            "type": "boolean"
          }
        }
      },
      "GroupSize": {
        "type": "object",
        "properties": {
          "min": {
            "type": "integer"
          },
          "target": {
            "type": "integer"
          },
          "max": {
            "type": "integer"
          }
        }
      },
      "ModuleSummary": {
        "type": "object",
        "required": [
          "id",
          "title"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "title": {
            "type": "string"
          },
          "description": {
            "type": "string"
          },
          "kit": {
            "type": "string",
            "enum": [
              "python",
              "sql",
              "spark"
            ]
          },
          "group": {
            "$ref": "#/components/schemas/GroupSize"
          },
          "roles": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "mode": {
            "type": "string",
            "enum": [
              "dynamic",
              "static"
            ]
          },
          "open": {
            "type": "boolean"
          },
          "tasks": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "id": {
                  "type": "string"
                },
                "title": {
                  "type": "string"
                },
                "timeLimitSeconds": {
                  "type": "integer"
                }
              }
            }
          }
        }
      },
      "ModuleDetail": {
        "allOf": [
          {
            "$ref": "#/components/schemas/ModuleSummary"
          },
          {
            "type": "object",
            "properties": {
              "tasks": {
                "type": "array",
                "items": {
                  "type": "object",
                  "properties": {
                    "id": {
                      "type": "string"
                    },
                    "title": {
                      "type": "string"
                    },
                    "instructions": {
                      "type": "string",
                      "description": "Markdown"
                    },
                    "starterFiles": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      }
                    },
                    "hasTests": {
                      "type": "boolean"
                    },
                    "timeLimitSeconds": {
                      "type": "integer"
                    }
                  }
                }
              }
            }
          }
        ]
      },
      "ModuleProblem": {
        "type": "object",
        "properties": {
          "file": {
            "type": "string"
          },
          "line": {
            "type": "integer"
          },
          "column": {
            "type": "integer"
          },
          "field": {
            "type": "string"
          },
          "message": {
            "type": "string"
          },
          "text": {
            "type": "string"
          }
        }
      },
      "Event": {
        "type": "object",
        "required": [
          "id",
          "time",
          "type",
          "payload"
        ],
        "properties": {
          "id": {
            "type": "integer"
          },
          "time": {
            "type": "string",
            "format": "date-time"
          },
          "type": {
            "type": "string"
          },
          "actor": {
            "type": [
              "string",
              "null"
            ]
          },
          "session": {
            "type": [
              "string",
              "null"
            ]
          },
          "payload": {
            "type": "object"
          }
        }
      },
      "LobbyStatus": {
        "type": "object",
        "required": [
          "status"
        ],
        "properties": {
          "status": {
            "type": "string",
            "enum": [
              "waiting",
              "matched",
              "gave_up",
              "idle"
            ]
          },
          "module": {
            "type": "string"
          },
          "position": {
            "type": "integer"
          },
          "waitingSince": {
            "type": "string",
            "format": "date-time"
          },
          "settleAt": {
            "type": "string",
            "format": "date-time",
            "description": "While waiting: after this a smaller team may form (with a minimum of one, you start on your own)"
          },
          "giveUpAt": {
            "type": "string",
            "format": "date-time",
            "description": "While waiting: when the lobby gives up and you leave the queue"
          },
          "session": {
            "type": "string"
          },
          "teamSize": {
            "type": "integer",
            "description": "When matched: members in the team (1: working alone)"
          },
          "message": {
            "type": "string",
            "description": "What the state means, in words"
          }
        }
      },
      "Session": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "module": {
            "type": "string"
          },
          "phase": {
            "type": "string",
            "enum": [
              "pending",
              "starting",
              "active",
              "completed",
              "abandoned"
            ]
          },
          "members": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "username": {
                  "type": "string"
                },
                "displayName": {
                  "type": "string"
                },
                "role": {
                  "type": "string"
                },
                "connected": {
                  "type": "boolean"
                },
                "lateJoiner": {
                  "type": "boolean"
                }
              }
            }
          },
          "roles": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            }
          },
          "roleOrder": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "nextRotation": {
            "type": "string",
            "format": "date-time"
          },
          "workspace": {
            "$ref": "#/components/schemas/Workspace"
          },
          "activity": {
            "type": "object",
            "description": "In GET /api/sessions (staff): how the team is doing",
            "properties": {
              "lastActivity": {
                "type": "string",
                "format": "date-time",
                "description": "Latest chat message, test run or edit in the workspace"
              },
              "lastEdit": {
                "type": "string",
                "format": "date-time",
                "description": "Latest edit in JupyterLab, to the minute (workspace.edited events are coalesced per member and minute)"
              },
              "lastEditBy": {
                "type": "string"
              },
              "tests": {
                "type": "object",
                "additionalProperties": {
                  "type": "boolean"
                }
              },
              "stuck": {
                "type": "string"
              },
              "currentTask": {
                "type": "object",
                "properties": {
                  "id": {
                    "type": "string"
                  },
                  "title": {
                    "type": "string"
                  }
                }
              }
            }
          }
        }
      },
      "Groups": {
        "type": "object",
        "properties": {
          "module": {
            "type": "string"
          },
          "groups": {
            "type": "object",
            "additionalProperties": {
              "type": "array",
              "items": {
                "type": "string"
              }
            }
          }
        }
      },
      "Workspace": {
        "type": "object",
        "properties": {
          "state": {
            "type": "string",
            "enum": [
              "waiting",
              "starting",
              "ready",
              "stopped",
              "failed"
            ]
          },
          "path": {
            "type": "string",
            "description": "Where the team opens it, /w/{id}/"
          },
          "url": {
            "type": "string",
            "description": "The same with the workspace origin, when workspaces have their own"
          },
          "reason": {
            "type": "string",
            "description": "Why it stopped or failed"
          }
        }
      },
      "TestOutcome": {
        "type": "object",
        "properties": {
          "task": {
            "type": "string"
          },
          "passed": {
            "type": "boolean"
          },
          "timedOut": {
            "type": "boolean"
          },
          "exitStatus": {
            "type": "integer"
          },
          "durationMs": {
            "type": "integer"
          },
          "output": {
            "type": "string",
            "description": "The output: all of it, or its first 6,000 and last 10,000 characters"
          },
          "cases": {
            "type": "array",
            "description": "Each test's outcome (pytest runs; empty for other commands)",
            "items": {
              "type": "object",
              "required": ["name", "outcome"],
              "properties": {
                "name": {
                  "type": "string"
                },
                "outcome": {
                  "type": "string",
                  "enum": ["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
                },
                "message": {
                  "type": "string",
                  "description": "A failure's first line, or a skip's reason"
                }
              }
            }
          },
          "eventId": {
            "type": "integer"
          }
        }
      }
    }
  }
}
"""#
}
