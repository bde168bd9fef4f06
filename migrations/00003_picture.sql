-- +goose Up
-- Where the liveness picture (a face) was kept, when keeping it is
-- configured (IVSBATCH_KEEP_PICTURES): an object reference, never the bytes.
ALTER TABLE records ADD COLUMN picture_ref text;

-- +goose Down
ALTER TABLE records DROP COLUMN picture_ref;
