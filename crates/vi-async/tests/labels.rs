//! Annotation, session and curation scenarios against the async facade.

vi_testkit::label_tests!(vi_testkit::facade::AsyncFacade);
