//! Annotation, session and curation scenarios against the blocking facade.

vi_testkit::label_tests!(vi_testkit::facade::BlockingFacade);
