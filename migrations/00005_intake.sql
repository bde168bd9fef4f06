-- +goose Up
-- The customer's own manifest columns of a record (a JSON object), sealed
-- like the other personal data ("kid:base64"); '' when the row had none.
-- From this migration on the media references (idcard_image1, idcard_image2,
-- face_image, video) are stored sealed too: photos are often named after the
-- person. References stored before it stay readable in clear until
-- "enqueue rekey" seals them.
ALTER TABLE records ADD COLUMN metadata_enc text NOT NULL DEFAULT '';

-- Rows set aside for review at intake (rows_rejected counts refused and
-- review rows together), for ops plan.
ALTER TABLE batches ADD COLUMN rows_review integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE batches DROP COLUMN rows_review;
ALTER TABLE records DROP COLUMN metadata_enc;
