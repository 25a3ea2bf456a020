import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { ContactCreateSchema, ContactListQuerySchema, ContactListSchema, ContactSchema, ContactUpdateSchema } from "./contacts.schemas";

const tags = ["Contacts"];

export const listContacts = createRoute({
  method: "get",
  path: "/contacts",
  operationId: "listContacts",
  summary: "List contacts, filtered, searched and sorted, a page at a time",
  tags,
  request: { query: ContactListQuerySchema },
  responses: {
    200: jsonContent(ContactListSchema, "A page of contacts"),
    ...problemResponses(422),
  },
});

export const createContact = createRoute({
  method: "post",
  path: "/contacts",
  operationId: "createContact",
  summary: "Create a contact",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: { body: jsonContentRequired(ContactCreateSchema) },
  responses: {
    201: jsonContent(ContactSchema, "The new contact"),
    ...problemResponses(400, 409, 413, 415, 422),
  },
});

export const getContact = createRoute({
  method: "get",
  path: "/contacts/{id}",
  operationId: "getContact",
  summary: "Read one contact",
  tags,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(ContactSchema, "The contact"),
    ...problemResponses(404, 422),
  },
});

export const updateContact = createRoute({
  method: "patch",
  path: "/contacts/{id}",
  operationId: "updateContact",
  summary: "Change some fields of a contact",
  tags,
  middleware: [jsonBody(64 * 1024)] as const,
  request: {
    params: IdParamSchema,
    body: jsonContentRequired(ContactUpdateSchema),
  },
  responses: {
    200: jsonContent(ContactSchema, "The updated contact"),
    ...problemResponses(400, 404, 409, 413, 415, 422),
  },
});

export const deleteContact = createRoute({
  method: "delete",
  path: "/contacts/{id}",
  operationId: "deleteContact",
  summary: "Delete a contact",
  description:
    "Refused with 409 while deals reference the contact. Activities logged only against the contact are deleted " +
    "with it; activities also linked to a company or deal stay, without the contact link.",
  tags,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(404, 409, 422),
  },
});
