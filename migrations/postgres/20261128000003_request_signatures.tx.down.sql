DROP TABLE request_signatures;
